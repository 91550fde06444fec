"""`fvc query`: SQL over every workspace table through DuckDB views."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import FvcError
from ._common import WorkspaceOpt, console, console_err, open_workspace, print_table


def register(app: typer.Typer) -> None:
    @app.command("query")
    def query(
        sql: Annotated[str | None, typer.Argument(help="SQL to run over the workspace views.")] = None,
        name: Annotated[str | None, typer.Option("--name", "-n", help="Run a named query (see --list).")] = None,
        list_: Annotated[bool, typer.Option("--list", help="List named queries and the views available.")] = False,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the result to .csv or .parquet.")] = None,
        limit: Annotated[int, typer.Option(min=0, help="Rows to print (the --out file gets every row).")] = 50,
        show_sql: Annotated[bool, typer.Option("--show-sql", help="Print the SQL of a named query.")] = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        """Query workspace tables (index, splits, features, results, predictions, MLflow runs) with SQL."""
        from ..analytics import connect, list_queries, named_sql
        from ..analytics.output import write_output

        ws, _ = open_workspace(workspace)
        with connect(ws) as an:
            if list_:
                print_table("named queries", list_queries(an))
                views = [{"view": k, "source": v} for k, v in an.views.items()]
                print_table("views", views)
                for name, why in an.skipped.items():
                    console_err.print(f"skipped {name}: {why}", markup=False, highlight=False, soft_wrap=True)
                return
            if (sql is None) == (name is None):
                raise FvcError("give either SQL or --name NAME (or --list)")
            text = named_sql(an, name) if name else sql
            if show_sql:
                console.print(text, highlight=False, soft_wrap=True)
            df, seconds = an.timed(text)
            if out is not None:
                path = write_output(df, out)
                console.print(f"{len(df)} rows -> {path} ({seconds * 1000:.0f} ms)")
                return
            rows = df.head(limit).to_dict("records")
            print_table(name or "query", rows, [str(c) for c in df.columns])
            more = f", showing {limit}" if len(df) > limit else ""
            console_err.print(f"{len(df)} rows{more} in {seconds * 1000:.0f} ms", style="dim")
