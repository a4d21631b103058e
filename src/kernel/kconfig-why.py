# Owns explaining, from a kernel tree's own Kconfig, why config options did
# not end up as asked: for each, the dependency that is not met, the options
# that block it (with their values and who set them) and the lines that would
# fix it, checked by setting them in the same Kconfig model. Read with
# Debian's python3-kconfiglib (a complete Kconfig implementation: the
# kernel's own language, macros and all), never a regex over Kconfig files.
#
# Called by src/kernel/kconfig-explain.ts with the environment the kernel's
# Makefile gives Kconfig (srctree, ARCH, SRCARCH, KERNELVERSION, CC, ...):
#   python3 kconfig-why.py REQUEST.json|-   (- reads it from stdin; stdout: one JSON document)
# REQUEST: {"config": ".config path", "wanted": [{"option", "value", "source"}],
#           "sources": [{"name", "text"}]}  (where each option could have been set, in order)
import io
import json
import re
import sys

import kconfiglib
from kconfiglib import AND, NOT, OR, Symbol, expr_str, expr_value, split_expr

TRI = {"n": 0, "m": 1, "y": 2}

# Kconfig grew a bare "modules" attribute (kernel/module/Kconfig) after kconfiglib's last release, which
# knows it as "option modules" (and assumes the symbol MODULES either way): the one spelling it is told.
BARE_MODULES = re.compile(r"^(\s+)modules[ \t]*$", re.M)


class KernelKconfig(kconfiglib.Kconfig):
    def _open(self, filename, mode):
        f = super()._open(filename, mode)
        if mode != "r":
            return f
        with f:
            return io.StringIO(BARE_MODULES.sub(r"\1option modules", f.read()))
MAX_DEPTH = 6


def main():
    request = json.load(sys.stdin if sys.argv[1] == "-" else open(sys.argv[1]))
    # Kconfig's own warnings (undefined macros of other toolchains, say) are not ours to print.
    kconf = KernelKconfig("Kconfig", warn=False, suppress_traceback=True)
    kconf.load_config(request["config"], replace=True)
    setters = setters_of(request["sources"])
    out = [explain_option(kconf, w, setters, request["config"]) for w in request["wanted"]]
    json.dump(out, sys.stdout)


def setters_of(sources):
    """For each option, the first source (fragment, base config) that sets it, and the value it gives."""
    found = {}
    for src in sources:
        for line in src["text"].splitlines():
            line = line.strip()
            if line.startswith("CONFIG_") and "=" in line:
                name, value = line[len("CONFIG_"):].split("=", 1)
            elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
                name, value = line[len("# CONFIG_"):-len(" is not set")], "n"
            else:
                continue
            found.setdefault(name, (src["name"], value.strip('"')))
    return found


def value_text(sym):
    """SLUB_TINY=y, SYSFS is not set."""
    v = sym.str_value
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) and v == "n":
        return sym.name + " is not set"
    return "%s=%s" % (sym.name, v if v else '""')


def who_set(sym, setters):
    """Why sym has its value: a source that set it (or asked for another value, dropped too), a select, or its default."""
    if sym.name in setters:
        source, value = setters[sym.name]
        return "set by " + source if value == sym.str_value else "%s asks for %s, dropped too" % (source, value)
    if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) and expr_value(sym.rev_dep):
        selectors = [s.name for s in selecting(sym) if s.tri_value]
        if selectors:
            return "selected by " + ", ".join(selectors)
    return "its default"


def selecting(sym):
    """The symbols whose select makes sym y."""
    out = []
    for term in split_expr(sym.rev_dep, OR):
        first = split_expr(term, AND)[0]
        if isinstance(first, Symbol):
            out.append(first)
    return out


def depends_text(kconf, sym):
    """SYSFS && !SLUB_TINY: the direct dependency, each term once (menus repeat theirs)."""
    if sym.direct_dep is kconf.y:
        return ""
    terms = dict.fromkeys(split_expr(sym.direct_dep, AND))
    return " && ".join("(%s)" % expr_str(t) if isinstance(t, tuple) and t[0] is OR else expr_str(t) for t in terms)


def line_for(name, value):
    return "# CONFIG_%s is not set" % name if value == "n" else "CONFIG_%s=%s" % (name, value)


def blockers(kconf, expr, need, setters, depth, seen):
    """What keeps expr below need: a sentence each (an option once per explanation), and the lines that would lift it."""
    reasons, fixes = [], []
    for term in dict.fromkeys(split_expr(expr, AND)):
        if expr_value(term) >= need:
            continue
        if isinstance(term, tuple) and term[0] is OR:
            # Any one alternative will do: the first that is an option is the one proposed.
            options = [t for t in split_expr(term, OR) if isinstance(t, Symbol) and not t.is_constant]
            reasons.append("none of %s is set" % ", ".join(t.name for t in options) if options else "%s does not hold" % expr_str(term))
            term = options[0] if options else term
        if isinstance(term, Symbol) and not term.is_constant:
            # An option that is off (or m where y is needed): turn it on, and say what stops that in turn.
            want = "y" if need == 2 or term.orig_type == kconfiglib.BOOL else "m"
            if term.name not in seen:
                reasons.append("%s (%s)" % (value_text(term), who_set(term, setters)))
            sub = explain_symbol(kconf, term, want, setters, depth + 1, seen)
            fixes += sub["fix"] + [line_for(term.name, want)]
            reasons += ["  " + r for r in sub["why"]]
        elif isinstance(term, tuple) and term[0] is NOT and isinstance(term[1], Symbol) and not term[1].is_constant:
            sym = term[1]
            if sym.name not in seen:
                seen.add(sym.name)
                reasons.append("%s (%s)" % (value_text(sym), who_set(sym, setters)))
                if expr_value(sym.rev_dep):
                    reasons.append("  and it is selected by %s: unset those too" % ", ".join(s.name for s in selecting(sym) if s.tri_value))
            fixes.append(line_for(sym.name, "n"))
        elif not (isinstance(term, tuple) and term[0] is OR):
            reasons.append("%s does not hold" % expr_str(term))
    return reasons, fixes


def explain_symbol(kconf, sym, want, setters, depth, seen):
    """Why sym cannot take `want` in the loaded config: {"why": [...], "fix": [...], "dependsOn": str}."""
    out = {"why": [], "fix": [], "dependsOn": depends_text(kconf, sym)}
    if sym.name in seen or depth > MAX_DEPTH:
        return out
    seen.add(sym.name)
    if want in TRI and sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        need = TRI[want]
        if need == 0:
            if expr_value(sym.rev_dep):
                out["why"].append("it is selected by %s" % ", ".join(s.name for s in selecting(sym) if s.tri_value))
            return out
        if need == 1 and kconf.modules.tri_value == 0:
            out["why"].append("=m needs MODULES, which is not set")
            out["fix"].append("CONFIG_MODULES=y")
        if expr_value(sym.direct_dep) < need:
            reasons, fixes = blockers(kconf, sym.direct_dep, need, setters, depth, seen)
            out["why"] += reasons
            out["fix"] += fixes
        elif not any(node.prompt for node in sym.nodes):
            sel = selecting(sym)
            out["why"].append("it has no prompt: only a select sets it%s" % (" (by %s)" % ", ".join(s.name for s in sel) if sel else ""))
            if sel:
                sub = explain_symbol(kconf, sel[0], "y", setters, depth + 1, seen)
                out["why"] += ["  " + r for r in sub["why"]]
                out["fix"] += sub["fix"] + [line_for(sel[0].name, "y")]
        else:
            conds = [node.prompt[1] for node in sym.nodes if node.prompt]
            cond = conds[0]
            if expr_value(cond) < need:
                out["why"].append("its prompt is shown only if %s" % expr_str(cond))
                reasons, fixes = blockers(kconf, cond, need, setters, depth, seen)
                out["why"] += reasons
                out["fix"] += fixes
            elif sym.choice is not None and sym.choice.selection is not sym:
                chosen = sym.choice.selection
                out["why"].append("it is one choice of several, and %s is chosen (%s)" % (chosen.name, who_set(chosen, setters)) if chosen else "it is one choice of several")
                if chosen:
                    out["fix"].append(line_for(chosen.name, "n"))
    elif sym.visibility == 0:
        reasons, fixes = blockers(kconf, sym.direct_dep, 2, setters, depth, seen)
        out["why"] += reasons or ["it has no prompt here"]
        out["fix"] += fixes
    return out


def verified(kconf, config, fixes, name, want):
    """Whether the fix lines, set in this Kconfig model on top of the config, make the option come out as wanted."""
    kconf.load_config(config, replace=True)
    for _ in range(3):  # an option set before the one it depends on is set again once that is on
        for line in fixes:
            if line.startswith("# CONFIG_"):
                opt, val = line[len("# CONFIG_"):-len(" is not set")], "n"
            else:
                opt, val = line[len("CONFIG_"):].split("=", 1)
            if opt in kconf.syms:
                kconf.syms[opt].set_value(val)
        if name in kconf.syms:
            kconf.syms[name].set_value(want)
    ok = name in kconf.syms and kconf.syms[name].str_value == want
    kconf.load_config(config, replace=True)
    return ok


def explain_option(kconf, wanted, setters, config):
    name, want = wanted["option"], wanted["value"]
    result = {"option": name, "wanted": want, "source": wanted.get("source", "")}
    sym = kconf.syms.get(name)
    if sym is None or not sym.nodes:
        result.update(actual="not in this kernel", why=["this kernel's Kconfig has no option %s (renamed or removed?)" % name], fix=[], dependsOn="")
        return result
    result["actual"] = value_text(sym)
    ex = explain_symbol(kconf, sym, want, setters, 0, set())
    fixes = list(dict.fromkeys(ex["fix"]))
    result.update(why=ex["why"], dependsOn=ex["dependsOn"], fix=fixes)
    result["fixVerified"] = bool(fixes) and verified(kconf, config, fixes, name, want)
    return result


if __name__ == "__main__":
    main()
