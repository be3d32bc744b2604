"""OAuth in a client config (Confluent Cloud's identity pools): whether the config logs in with OAUTHBEARER, and the
line -v shows about it, the client, the token endpoint, the extensions (logicalCluster, identityPoolId) and the
registry's bearer settings; never the secret. librdkafka fetches and refreshes the tokens itself."""


def is_oauth(config):
    """True when the config logs in to Kafka with OAuth bearer tokens (sasl.mechanisms=OAUTHBEARER)."""
    return (config.get("sasl.mechanisms") or config.get("sasl.mechanism") or "").strip().upper() == "OAUTHBEARER"


def extensions(config):
    """sasl.oauthbearer.extensions as (name, value) pairs, in the order written ("a=1,b=2")."""
    pairs = [item.partition("=") for item in config.get("sasl.oauthbearer.extensions", "").split(",") if item.strip()]
    return [(name.strip(), value.strip()) for name, _, value in pairs]


def login_summary(config):
    """The -v line for an OAuth config, or None for any other: who logs in, where tokens come from, what goes
    with them."""
    if not is_oauth(config):
        return None
    method = config.get("sasl.oauthbearer.method", "default").strip().lower()
    said = [f"OAuth ({'OIDC' if method == 'oidc' else method}) as client "
            f"'{config.get('sasl.oauthbearer.client.id', '(not set)')}', tokens from "
            f"{config.get('sasl.oauthbearer.token.endpoint.url', '(not set)')}"]
    pairs = extensions(config)
    said.append(f"extensions {', '.join(f'{name}={value}' for name, value in pairs)}" if pairs else "no extensions")
    registry = getattr(config, "registry", None)
    if registry is not None and registry.oauth:
        conf = registry.conf
        pool = conf.get("bearer.auth.identity.pool.id")
        said.append(f"Schema Registry: bearer tokens as client '{conf['bearer.auth.client.id']}', logical cluster "
                    f"{conf['bearer.auth.logical.cluster']}" + (f", identity pool {pool}" if pool else ""))
    return "; ".join(said)
