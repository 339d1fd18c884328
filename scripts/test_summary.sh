#!/usr/bin/env bash
# Print "N passed, N failed, N skipped" over meson testlog.json files.
set -euo pipefail
/usr/bin/python3 - "$@" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0, "EXPECTEDFAIL": 0, "TIMEOUT": 0, "ERROR": 0,
          "UNEXPECTEDPASS": 0}
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                r = json.loads(line).get("result", "ERROR")
                counts[r] = counts.get(r, 0) + 1
    except FileNotFoundError:
        counts["ERROR"] += 1
failed = counts["FAIL"] + counts["TIMEOUT"] + counts["ERROR"] + counts["UNEXPECTEDPASS"]
passed = counts["OK"] + counts["EXPECTEDFAIL"]
print(f"{passed} passed, {failed} failed, {counts['SKIP']} skipped")
PY
