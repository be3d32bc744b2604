"""Which TLS check failed: librdkafka says only "certificate verify failed", the same for an unknown CA
and for a host name the certificate does not list. One handshake with Python's ssl module tells them apart."""

import os
import socket
import ssl

X509_V_ERR_HOSTNAME_MISMATCH = 62


def tls_verify_failure(config):
    """(OpenSSL verify code, message) of the first bootstrap server's certificate, or (None, None)."""
    first = config.get("bootstrap.servers", "").split(",")[0].strip().split("://")[-1]
    host, _, port = first.rpartition(":")
    host = host.strip("[]")
    ca = config.get("ssl.ca.location")
    try:
        context = ssl.create_default_context(cafile=ca if ca and os.path.isfile(ca) else None,
                                             capath=ca if ca and os.path.isdir(ca) else None)
        if config.get("ssl.endpoint.identification.algorithm", "https") == "none":
            context.check_hostname = False
        with socket.create_connection((host, int(port)), timeout=3) as sock:
            context.wrap_socket(sock, server_hostname=host).close()
    except ssl.SSLCertVerificationError as e:
        return e.verify_code, e.verify_message
    except (OSError, ValueError):
        pass
    return None, None
