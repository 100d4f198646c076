"""`docs/schema.graphql` is what `todosync graphql-schema` prints: a stale copy fails here."""

from __future__ import annotations

from pathlib import Path

from tests.cli.runner import run_cli

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "schema.graphql"


def test_the_schema_file_is_current(tmp_path: Path) -> None:
    """The command's output equals the committed file (regenerate it with
    `todosync graphql-schema -o docs/schema.graphql`)."""
    result = run_cli("graphql-schema", database_url=None, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8"), (
        "docs/schema.graphql is stale: run `todosync graphql-schema -o docs/schema.graphql`"
    )
