"""A throwaway certificate authority for the local servers' TLS listeners (tests, ``dev`` runs).

``make_certificates`` writes, with ``openssl``, a CA and one server and one client certificate
signed by it, all for 127.0.0.1/localhost. Nothing here is fit for a real deployment: the keys
are generated unattended and kept next to the certificates.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    key_password: str
    """The password of ``server_key_encrypted`` and ``client_key_encrypted`` (PKCS#8 with PBES1
    3DES: Java 17 reads no PBES2 key)."""
    server_key_encrypted: Path
    client_key_encrypted: Path
    server_keystore: Path
    """``server_key_encrypted`` followed by ``server_cert``: the PEM key store a Java server reads."""


def make_certificates(folder: Path, key_password: str = "devtls-key-pass", days: int = 7) -> TlsFiles:
    openssl = shutil.which("openssl")
    if not openssl:
        raise RuntimeError("openssl not found: install it with `apt-get install -y openssl` (Debian)")
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        result = subprocess.run([openssl, *args], cwd=folder, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {result.stderr[-1000:]}")

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", str(days),
        "-subj", "/CN=vidsentry dev CA")
    for name in ("server", "client"):
        (folder / f"{name}.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            f"extendedKeyUsage={'serverAuth' if name == 'server' else 'clientAuth'}\n")
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN=vidsentry dev {name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", str(days), "-extfile", f"{name}.ext")
        run("pkcs8", "-topk8", "-in", f"{name}.key", "-out", f"{name}-encrypted.key", "-v1", "PBE-SHA1-3DES",
            "-passout", f"pass:{key_password}")
    keystore = folder / "server-keystore.pem"
    keystore.write_text((folder / "server-encrypted.key").read_text() + (folder / "server.pem").read_text())
    for key in [*folder.glob("*.key"), keystore]:
        key.chmod(0o600)
    return TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
                    folder / "client.key", key_password, folder / "server-encrypted.key", folder / "client-encrypted.key",
                    keystore)
