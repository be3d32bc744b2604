"""What `start --oauth` adds to a node and its clients: the OAUTH listener (SASL_SSL with OAUTHBEARER, tokens checked
against Keycloak's JWKS, audience and issuer), the JVM's allowed OAuth URLs, the ACLs that let everyone in but
the client without rights, and `client-oauth.ini` in the shape Confluent Cloud's OAuth snippet has."""

from .files import write_private
from .keycloak import AUDIENCE, CLIENT, NO_RIGHTS

LISTENER = "OAUTH"
VALIDATOR = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
LOGIN_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;"
# what Confluent Cloud's identity pool screen gives (lkc-..., pool-...); the local broker takes and ignores them
EXTENSIONS = "logicalCluster=lkc-local,identityPoolId=pool-local"
REGISTRY_CLUSTER = "lsrc-local"
IDENTITY_POOL = "pool-local"


def java_flags(keycloak):
    """Kafka 4 fetches no OAuth URL it was not allowed: the JWKS (and the token URL, for completeness)."""
    return [f"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls={keycloak.jwks_url},{keycloak.token_url}"]


def listener_properties(keycloak):
    """server.properties lines for the OAUTH listener. The principal is the token's azp claim (the client id), so
    an ACL can name a client; Keycloak's sub is a service account's random id."""
    prefix = f"listener.name.{LISTENER.lower()}."
    return {
        f"{prefix}sasl.enabled.mechanisms": "OAUTHBEARER",
        f"{prefix}oauthbearer.sasl.jaas.config": LOGIN_MODULE,
        f"{prefix}oauthbearer.sasl.server.callback.handler.class": VALIDATOR,
        # re-authentication (KIP-368), as Confluent Cloud asks it: a connection lives no longer than its token, so
        # a client must log in again with a fresh one on every connection it keeps open
        f"{prefix}oauthbearer.connections.max.reauth.ms": "3600000",
        "sasl.oauthbearer.jwks.endpoint.url": keycloak.jwks_url,
        "sasl.oauthbearer.expected.audience": AUDIENCE,
        "sasl.oauthbearer.expected.issuer": keycloak.issuer,
        "sasl.oauthbearer.sub.claim.name": "azp",
    }


def grant_rights(admin, timeout=30):
    """Everyone may do everything (as with no authorizer), except the client without rights, denied it all.

    ALLOW for User:* is needed: once a resource has an ACL (the DENY), "no ACL found" no longer lets others in."""
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType,
                                       ResourceType)

    resources = [(ResourceType.TOPIC, "*"), (ResourceType.GROUP, "*"), (ResourceType.TRANSACTIONAL_ID, "*"),
                 (ResourceType.BROKER, "kafka-cluster")]
    bindings = [AclBinding(kind, name, ResourcePatternType.LITERAL, principal, "*", AclOperation.ALL, permission)
                for kind, name in resources
                for principal, permission in (("User:*", AclPermissionType.ALLOW),
                                              (f"User:{NO_RIGHTS}", AclPermissionType.DENY))]
    for future in admin.create_acls(bindings, request_timeout=timeout).values():
        future.result()


def client_settings(keycloak, ca_location, client_id=CLIENT, secret=None):
    """librdkafka properties for the OAUTH listener as `client_id` (a wrong secret if given): what Confluent Cloud's
    client snippet for an identity pool holds, with the local CA."""
    return {"security.protocol": "SASL_SSL", "sasl.mechanisms": "OAUTHBEARER", "sasl.oauthbearer.method": "oidc",
            "sasl.oauthbearer.client.id": client_id,
            "sasl.oauthbearer.client.secret": keycloak.secrets[client_id] if secret is None else secret,
            "sasl.oauthbearer.token.endpoint.url": keycloak.token_url,
            "sasl.oauthbearer.extensions": EXTENSIONS, "ssl.ca.location": ca_location}


def registry_settings(keycloak, registry_url, client_id=CLIENT):
    """The Schema Registry lines of Confluent Cloud's OAuth snippet (beside the Kafka ones, in [default])."""
    return {"schema.registry.url": registry_url, "bearer.auth.credentials.source": "OAUTHBEARER",
            "bearer.auth.issuer.endpoint.url": keycloak.token_url, "bearer.auth.client.id": client_id,
            "bearer.auth.client.secret": keycloak.secrets[client_id],
            "bearer.auth.logical.cluster": REGISTRY_CLUSTER, "bearer.auth.identity.pool.id": IDENTITY_POOL}


def write_oauth_config(path, bootstrap, settings, registry=None, group="local-demo"):
    """client-oauth.ini (0600): [default] as Confluent Cloud's snippet, the registry's lines in it too."""
    lines = ["# Written by local_kafka for the broker it started (OAuth through its Keycloak); removed when it stops.",
             "[default]", f"bootstrap.servers={bootstrap}", *(f"{k}={v}" for k, v in settings.items())]
    lines += [f"{k}={v}" for k, v in (registry or {}).items()]
    lines += ["", "[consumer]", f"group.id={group}", "auto.offset.reset=earliest", "", "[producer]", ""]
    write_private(path, "\n".join(lines))
