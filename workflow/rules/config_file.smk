# Included before the `configfile:` directive (the Snakefile calls it on config/config.yaml when no
# --configfile is given): a YAML syntax error in the workflow's config file stops the run with one
# line naming the file and the line (Snakemake's own message names neither).
import sys
from pathlib import Path

import yaml


def check_config_syntax(path):
    if not Path(path).is_file():
        return
    try:
        with open(path) as fh:
            yaml.safe_load(fh)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        context, start = getattr(error, "context", None), getattr(error, "context_mark", None)
        if context and start is not None:
            problem += f" ({context} from line {start.line + 1})"
        sys.exit(f"config error: '{path}': YAML syntax error at {where}{problem}")
