"""What the report scripts of bench/ read and compute alike (Python 3 standard library only):
a JSON file that may be missing or broken, and mean ± sample sd of the values present.

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from reports import read_json, mean_sd
"""

import json
import statistics


def read_json(path, default=None):
    """The JSON document in `path`, or `default` when it is missing or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def mean_sd(values):
    """Mean and sample standard deviation (n - 1) of the values that are not None: (None, None)
    without any, sd None below two."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None
    return statistics.fmean(v), (statistics.stdev(v) if len(v) > 1 else None)
