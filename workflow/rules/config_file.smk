# Included before the `configfile:` directive (the Snakefile calls it on config/config.yaml when no
# --configfile is given): a YAML syntax error in the workflow's config file stops the run with one
# line naming the file and the line (Snakemake's own message names neither). The message is
# scema.yaml_file's, which the comparison and study base files use too.
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from scema.yaml_file import syntax_error


def check_config_syntax(path):
    if not Path(path).is_file():
        return
    try:
        with open(path) as fh:
            yaml.safe_load(fh)
    except yaml.YAMLError as error:
        sys.exit(f"config error: '{path}': {syntax_error(error)}")
