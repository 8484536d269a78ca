"""The paper's 12 claims, each checked on our data: results/claims.csv."""

from facebench.workflow import rule_logging

with rule_logging(snakemake):  # imports inside: library start-up chatter goes to the log too
    from pathlib import Path

    from facebench.analysis.outputs import write_csv, write_html
    from facebench.analysis.resampling import Resampling
    from facebench.analysis.stages import Aggregate, claims

    data = Aggregate.of_rule(snakemake)
    table = claims(
        data,
        Path(snakemake.input.paper),
        Path(snakemake.input.paper_claims),
        Resampling.of(snakemake.params.statistics),
        frozenset(snakemake.params.generated_videos),
    )
    write_csv(table, Path(snakemake.output.claims))
    write_html(table, Path(snakemake.output.claims_html), "The paper's 12 claims, checked")
    print(table[["claim", "verdict", "direction", "magnitude", "paper_verdict"]].to_string())
