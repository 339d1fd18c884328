# SPDX-License-Identifier: Apache-2.0
# lib.awk - awk helpers over "key=value ..." lines, prefixed to the awk programs of the bench
# scripts (BENCH_AWK): g(line, key) the value of key or ""; num(value, format) "-" when
# empty; ratio(a, b) a / b as N.NN×, "-" when either is missing ("" or "-") or b is 0;
# cpu(line) a client's CPU over its run (cpu_s, seconds) as % of one core.
function g(line, key,   n, i, kv) {
    n = split(line, kv, " ")
    for (i = 1; i <= n; i++)
        if (index(kv[i], key "=") == 1)
            return substr(kv[i], length(key) + 2)
    return ""
}
function num(x, fmt) { return x == "" ? "-" : sprintf(fmt, x) }
function ratio(a, b) { return (a == "" || a == "-" || b == "" || b == "-" || b == 0) ? "-" : sprintf("%.2f\xc3\x97", a / b) }
function cpu(q) { return g(q, "seconds") > 0 ? sprintf("%.0f", 100 * g(q, "cpu_s") / g(q, "seconds")) : "-" }
