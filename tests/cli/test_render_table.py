"""render.table prints tabulate's plain format; its own fast path must give the
same bytes as tabulate for any table (random ones here), and leave the rest to it."""

import random

from tabulate import tabulate

from kubectl_lbip import render


def expected(rows, headers, no_headers=False):
    shown = [] if no_headers else [h.upper() for h in headers]
    return tabulate(rows, headers=shown, tablefmt="plain", disable_numparse=True)


def test_fast_table_is_tabulates_plain_table(monkeypatch):
    rng = random.Random(4)
    plain = [
        "a",
        "b",
        "Z",
        "0",
        "9",
        " ",
        "-",
        "/",
        ".",
        ":",
        ",",
        "_",
        "(",
        ")",
        "'",
        "1.5",
        "1e3",
        "-2",
        "  x  ",
        "None",
        "",
    ]
    odd = ["é", "\t", "\n", "\x1b[1m", "界"]
    fast = 0
    for _ in range(3000):
        alphabet = plain + (odd if rng.random() < 0.3 else [])
        width = rng.randint(1, 6)
        headers = [
            "".join(
                rng.choice(["ip", "pool", " ", "x", "", "Ä" if rng.random() < 0.1 else "y"])
                for _ in range(rng.randint(0, 3))
            )
            for _ in range(width)
        ]
        rows = [
            ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))) for _ in range(width)]
            for _ in range(rng.randint(1, 5))
        ]
        assert render.table(rows, headers) == expected(rows, headers), (rows, headers)
        fast += render._plain_table(rows, [h.upper() for h in headers], width) is not None
        assert render.table(rows, headers, no_headers=True) == expected(rows, headers, True), (rows, headers)
    assert fast > 1000  # most tables took the fast path


def test_fast_table_takes_the_usual_case():
    rows = [["10.0.0.1", "default", "no", "ns/a"], ["fd00::1", "", "yes", "-"]]
    assert render._plain_table(rows, ["IP", "POOL", "FREE", "SERVICE"], 4) == expected(
        rows, ["ip", "pool", "free", "service"]
    )


def test_other_cells_go_to_tabulate():
    for rows in ([[1, "a"]], [[None, "a"]], [["a"]], [["é", "a"]], [["a\nb", "c"]]):
        assert render._plain_table(rows, ["X", "Y"], 2) is None
        assert render.table(rows, ["x", "y"]) == expected(rows, ["x", "y"])
