from typer.testing import CliRunner

from pipeline import catalog
from pipeline.cli import app
from pipeline.warehouse import open_warehouse

runner = CliRunner()

MARTS = {
    "mart.reciprocity_daily",
    "mart.follow_back_events",
    "mart.churn_daily",
    "mart.follower_retention",
    "mart.churners",
    "mart.question_response",
    "mart.question_response_curve",
}


def test_readme_catalogue_is_the_code_catalogue(settings):
    readme = catalog.readme_section(catalog.README.read_text())
    expected = catalog.to_markdown(catalog.code_catalog(settings))
    assert readme == expected, "The README's catalogue is stale: run `followback catalog --readme`."


def test_every_core_and_mart_table_and_column_is_documented(demo):
    with open_warehouse(demo.settings, read_only=True) as con:
        relations = catalog.read_catalog(con)
    analyst = [r for r in relations if r.schema in ("staging", "core", "mart")]
    assert {r.qualified_name for r in analyst if r.schema == "mart"} == MARTS
    assert "core.follow_edges" in {r.qualified_name for r in analyst}
    undocumented = [r.qualified_name for r in analyst if not r.comment] + [
        f"{r.qualified_name}.{c.name}" for r in analyst for c in r.columns if not c.comment
    ]
    assert undocumented == []
    # Loaded tables are documented at table level (sql/schema.sql).
    assert all(r.comment for r in relations)


def test_catalog_command_reads_the_warehouse_metadata(demo_env, settings):
    result = runner.invoke(app, ["catalog", "--markdown"])
    assert result.exit_code == 0, result.output
    # The built warehouse carries exactly the definitions the code declares.
    assert result.output == catalog.to_markdown(catalog.code_catalog(settings))
    assert "### `mart.churners` (table)" in result.output

    result = runner.invoke(app, ["catalog"])
    assert result.exit_code == 0, result.output
    assert "mart.question_response_curve (table)" in result.output
    assert "Distinct follower repliers so far." in " ".join(result.output.split())


def test_readme_rewrite_replaces_only_the_generated_section(tmp_path, settings):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# Title\n\nBefore.\n\n{catalog.README_START}\nstale\n{catalog.README_END}\n\nAfter.\n"
    )
    markdown = catalog.to_markdown(catalog.code_catalog(settings))
    catalog.write_readme(markdown, readme)
    text = readme.read_text()
    assert text.startswith("# Title\n\nBefore.\n\n")
    assert text.endswith(f"{catalog.README_END}\n\nAfter.\n")
    assert "stale" not in text
    assert catalog.readme_section(text) == markdown
