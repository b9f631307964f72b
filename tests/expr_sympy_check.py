"""SymPy reads frugal's expressions (tests/test_expr.c, `expr::sympy_*`).

Each line of standard input: the SymPy text, the inputs (space-separated,
exact decimals), the VM's output and the bound on their distance (the
double evaluation's, docs/report.md "Expressions"), separated by tabs.
Checks that sympy.sympify parses every line and that, where the value is a
finite real and every sqrt, log and division is in its domain (the VM's are
protected: 0 outside, which the printed formula does not say), it is within
the bound.
Prints "ok CHECKED PARSED".
"""
import sys

import sympy
from sympy.core.function import AppliedUndef



def in_domain(e, subs):
    """Whether every sqrt and log has a positive argument and no divisor is
    0 at these inputs: there the VM's protected operations (0 outside) and
    the ordinary ones agree."""
    for a in sympy.postorder_traversal(e):  # inner ones first
        # a root: SymPy writes sqrt(sqrt(x)) as x**(1/4), 1/sqrt(x) as x**(-1/2)
        root = isinstance(a, sympy.Pow) and a.exp.is_Rational and not a.exp.is_integer
        if isinstance(a, sympy.log) or root:
            v = complex(a.args[0].evalf(30, subs=subs))
            if v.imag != 0 or not v.real > 0:
                return False
        elif isinstance(a, sympy.Pow) and a.exp.is_negative:
            if complex(a.base.evalf(30, subs=subs)) == 0:
                return False
    return True


parsed = checked = 0
for n, line in enumerate(sys.stdin, 1):
    text, inputs, vm, bound = line.rstrip("\n").split("\t")
    e = sympy.sympify(text)
    parsed += 1
    xs = [float(v) for v in inputs.split()]
    names = ["x"] if len(xs) == 1 else [f"x{k}" for k in range(len(xs))]
    subs = {sympy.Symbol(k): sympy.Float(v, 30) for k, v in zip(names, xs)}
    if e.atoms(AppliedUndef) or not in_domain(e, subs):  # op_or(...): words, not reals
        continue
    try:
        v = complex(e.evalf(30, subs=subs))
    except TypeError:
        sys.exit(f"line {n}: {text} at {inputs} = {e.evalf(30, subs=subs)}: not a number")
    if v.imag != 0 or v.real != v.real or abs(v.real) == float("inf"):
        continue
    if abs(v.real - float(vm)) > float(bound) * (1 + 1e-9) + 1e-12:
        sys.exit(f"line {n}: {text} at {inputs} = {v.real!r}, the VM {vm}, bound {bound}")
    checked += 1
print(f"ok {checked} {parsed}")
