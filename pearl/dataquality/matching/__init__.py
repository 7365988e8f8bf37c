"""Pearl's one duplicate matcher: Chinese-aware, explainable, the same rules for one pair and a whole base.

    config = chinese_config()
    a, b = prepare(record_a, config), prepare(record_b, config)
    blocking_keys(a)            # short strings to store in an indexed table
    match = compare(a, b, config)   # score, band ("duplicate" | "possible" | None), reasons
    result = scan(records, config)  # every pair in either band, set-based

No database here: the services build ``Record`` objects from customers (or sheet rows) and keep the
blocking keys in step; this package only decides.
"""

from .chinese import Record
from .compare import Match, MatchConfig, Prepared, Reason, blocking_keys, compare, compare_many, evidence, prepare
from .configs import chinese_config, febrl_config, with_thresholds
from .scan import ScanResult, scan

__all__ = [
    "Match",
    "MatchConfig",
    "Prepared",
    "Reason",
    "Record",
    "ScanResult",
    "blocking_keys",
    "chinese_config",
    "compare",
    "compare_many",
    "evidence",
    "febrl_config",
    "prepare",
    "scan",
    "with_thresholds",
]
