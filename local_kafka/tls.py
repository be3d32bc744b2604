"""TLS material for the SASL_SSL listener: a throwaway CA and a certificate for localhost, made with openssl."""

import shutil
import subprocess
from pathlib import Path

from .errors import LauncherError
from .files import PRIVATE_UMASK, write_private


def make_certificates(directory):
    """A throwaway CA and a server certificate for localhost / 127.0.0.1, key in PKCS#8 PEM.

    Returns (CA certificate, keystore): the keystore holds the key, the certificate and the CA, as Kafka's
    PEM keystore type wants them."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise LauncherError("openssl was not found on PATH; it makes the broker's test certificates. "
                            "Install it (Debian: apt-get install openssl).")
    d = Path(directory)

    def ssl(*args):
        proc = subprocess.run([openssl, *args], cwd=d, umask=PRIVATE_UMASK, capture_output=True, text=True)
        if proc.returncode != 0:
            raise LauncherError(f"openssl {args[0]} failed: {proc.stderr.strip()}")

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=local-kafka throwaway CA",
        "-keyout", "ca-key.pem", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server-key.rsa", "-out", "server.csr")
    write_private(d / "san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    ssl("pkcs8", "-topk8", "-nocrypt", "-in", "server-key.rsa", "-out", "server-key.pem")
    keystore = d / "server-keystore.pem"
    write_private(keystore, (d / "server-key.pem").read_text() + (d / "server.pem").read_text() + (d / "ca.pem").read_text())
    return d / "ca.pem", keystore
