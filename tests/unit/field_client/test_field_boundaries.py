"""The field client never imports the server (DESIGN "Layout and dependency direction")."""

import subprocess
import sys


def test_field_client_imports_nothing_from_the_server() -> None:
    code = (
        "import sys, field_client.cli, field_client.engine, field_client.transport, field_client.capture\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] in ('server', 'flask', 'sqlalchemy')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
