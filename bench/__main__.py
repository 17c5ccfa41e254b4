"""`./dev bench [pipeline|triage|routing|notify|fhir_status|dashboard|floor|webhook|splitter]`:
run one benchmark, or all of them. (`python -m bench.splitter_equivalence [--hostile]` checks, not
times, the sentence splitter: it is no benchmark.)"""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "pipeline": "bench.pipeline_bench",
    "triage": "bench.triage_bench",
    "routing": "bench.routing_bench",
    "notify": "bench.notify_bench",
    "fhir_status": "bench.fhir_status_bench",
    "dashboard": "bench.dashboard_bench",
    "floor": "bench.floor_bench",
    "webhook": "bench.webhook_bench",
    "splitter": "bench.splitter_bench",
}


def main() -> int:
    names = sys.argv[1:2] or list(BENCHES)
    rest = sys.argv[2:]
    for name in names:
        print(f"\n===== {name} =====", flush=True)
        module = importlib.import_module(BENCHES[name])
        sys.argv = [BENCHES[name], *rest]
        code = module.main() if hasattr(module, "main") else 0
        if code:
            return int(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
