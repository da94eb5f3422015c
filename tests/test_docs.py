"""The generated docs are current."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_supported_ops_table_is_generated_from_registry():
    before = (ROOT / "docs" / "mxnet-ops.md").read_text()
    from modelport.frontends.mxnet.registry import load_all
    registry = load_all()
    for name in registry:
        assert f"`{name}`" in before, f"{name} missing from docs/mxnet-ops.md: run scripts/gen_ops_table.py"
    assert f"{len(registry)} operator names in total." in before


def test_readme_quickstart_has_exactly_two_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quickstart", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert [c.split()[0:2] for c in commands] == [["bash", "scripts/quickstart.sh"], ["bash", "scripts/test.sh"]]
    assert (ROOT / ".ci" / "run").read_text().count("scripts/test.sh") == 1
