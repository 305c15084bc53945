"""sync/ is pure: the server judges with it and the client predicts with it, so it must not pull in a framework,
a database, cryptography, or the schemas layer that depends on it."""

import subprocess
import sys

FORBIDDEN = ("flask", "sqlalchemy", "cryptography", "marshmallow", "schemas", "server", "field_client", "requests")


def test_sync_imports_nothing_forbidden() -> None:
    code = (
        "import sys, sync, sync.vocabulary, sync.ops, sync.conflicts, sync.cursor, sync.errors, sync.backoff\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
