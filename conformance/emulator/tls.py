"""TLS for the emulator: a throw-away test CA (trustme) and a server certificate for 127.0.0.1.

Operations:
- `make_certificates(directory)`: write `ca.pem` (what clients trust), `server.pem` (certificate
  chain) and `server.key`; return their paths.

The CA is generated at start and never leaves the test machine, so handshakes cost what they cost
against Google without any real certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class Certificates:
    """Paths of the generated PEM files."""

    ca_path: Path
    cert_path: Path
    key_path: Path


def make_certificates(
    directory: str | Path, hostnames: tuple[str, ...] = ("127.0.0.1", "localhost")
) -> Certificates:
    """Generate a CA and a server certificate for `hostnames`, written under `directory`."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="compatkit emulator test CA")
    server = ca.issue_cert(*hostnames)
    certificates = Certificates(root / "ca.pem", root / "server.pem", root / "server.key")
    ca.cert_pem.write_to_path(str(certificates.ca_path))
    with certificates.cert_path.open("wb") as handle:
        for pem in server.cert_chain_pems:
            handle.write(pem.bytes())
    server.private_key_pem.write_to_path(str(certificates.key_path))
    return certificates
