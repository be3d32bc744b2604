"""The views room: -L's facts about a cluster and --lag's about a group, gathered with an AdminClient and
judged, and both rendered as text for people or one JSON document for scripts. Stands on the core, the config
and the client."""

from kafka_cli.views.listing import gather_listing, topic_selector
from kafka_cli.views.lag import gather_lag
from kafka_cli.views.render import listing_text, lag_text

__all__ = ["gather_lag", "gather_listing", "lag_text", "listing_text", "topic_selector"]
