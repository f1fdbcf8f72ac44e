"""Skeletons of rendered e-mails: rendered once with markers for the per-event values, then filled.

A value is left to fill in only when nothing can tell it from its marker:

- the templates print its name as it is: every use is `{{ name }}` or an argument of an
  imported macro whose template prints every name it uses as it is (checked on the
  templates' syntax trees, so a later `{% if name %}` or `name | upper` just ends the
  shortcut for that name);
- the value is plain text: not empty, single spaces, no line break, no leading "-", so the
  text's tidying, the subject's whitespace folding and the HTML layout's paragraphs and lists
  treat it exactly as the marker. In the HTML form it is escaped as Jinja escapes it.

Everything else in the context (numbers, lists, a value a template tests) is part of the
skeleton's key. A skeleton is built the second time its key is seen, and checked against the
real rendering of that event; a key that does not check out is always rendered in full.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, nodes
from markupsafe import escape

log = logging.getLogger(__name__)

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: no template or escaping makes them
_KEPT = 512  # skeletons kept (template x language x shape); a publish run uses a handful
Forms = tuple[str, str, str]  # subject, text, HTML
Render = Callable[[str, str, dict[str, Any]], Forms]


@dataclass(frozen=True)
class Skeleton:
    """Each form as a `str.format` pattern over the free values (positional, in `names` order)."""

    names: tuple[str, ...]
    subject: str
    text: str
    html: str

    def fill(self, values: dict[str, str]) -> Forms:
        """The three forms with this event's values in."""
        plain = [values[name] for name in self.names]
        escaped = [str(escape(value)) for value in plain]
        return self.subject.format(*plain), self.text.format(*plain), self.html.format(*escaped)


_skeletons: OrderedDict[tuple[Any, ...], Skeleton | None] = OrderedDict()
_seen: OrderedDict[tuple[Any, ...], None] = OrderedDict()


def fill(
    environment: Environment, template: str, language: str, context: dict[str, Any], render: Render
) -> Forms:
    """`render(template, language, context)`, from a skeleton when one fits."""
    free = printed_names(environment, f"{language}/{template}.j2")
    values: dict[str, str] = {}
    shape: list[tuple[str, str]] = []
    for name, value in context.items():
        if name in free and _plain(value):
            values[name] = value
        else:
            shape.append((name, f"{type(value).__name__}:{value!r}"))
    key = (template, language, tuple(values), tuple(shape))
    skeleton: Skeleton | None | bool = _skeletons.get(key, False)
    if skeleton is False:
        if not values or not _seen_before(key):
            return render(template, language, context)
        skeleton = _build(template, language, context, values, render)
        _remember(_skeletons, key, skeleton)
    if skeleton is None:  # did not check out: this shape is rendered in full
        return render(template, language, context)
    assert isinstance(skeleton, Skeleton)
    return skeleton.fill(values)


def printed_names(environment: Environment, name: str) -> frozenset[str]:
    """The names template `name` only ever prints as they are (see the module's rules)."""
    return _analyse(environment, name)[1]


@cache
def _analyse(environment: Environment, name: str) -> tuple[frozenset[str], frozenset[str]]:
    # (every name the template reads, the ones it only prints as they are)
    assert environment.loader is not None
    tree = environment.parse(environment.loader.get_source(environment, name)[0])
    used: set[str] = set()
    unsafe: set[str] = set()
    arguments: dict[str, set[str]] = {}  # import alias -> names passed to its macros
    _walk(tree, used, unsafe, arguments)
    if any(tree.find_all((nodes.Include, nodes.Extends, nodes.FromImport))):
        unsafe |= used  # names read elsewhere, under rules not checked here
    trusted = set()
    for imported in tree.find_all(nodes.Import):
        assert isinstance(imported, nodes.Import)
        if isinstance(imported.template, nodes.Const):
            read, printed = _analyse(environment, str(imported.template.value))
            if read == printed:  # its macros print their arguments and do nothing else
                trusted.add(imported.target)
    for alias, names in arguments.items():
        if alias not in trusted:
            unsafe |= names
    return frozenset(used), frozenset(used - unsafe)


def _walk(
    node: nodes.Node, used: set[str], unsafe: set[str], arguments: dict[str, set[str]]
) -> None:
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.Name) and child.ctx == "load":
            used.add(child.name)
            callee = node.node if isinstance(node, nodes.Call) else None
            if isinstance(node, nodes.Output):
                pass
            elif (
                isinstance(node, nodes.Call)
                and any(argument is child for argument in node.args)
                and isinstance(callee, nodes.Getattr)  # `alias.macro(...)`
                and isinstance(callee.node, nodes.Name)
            ):
                arguments.setdefault(callee.node.name, set()).add(child.name)
            else:
                unsafe.add(child.name)
        _walk(child, used, unsafe, arguments)


def _plain(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value != ""
        and " ".join(value.split()) == value
        and not value.startswith("-")
        and _OPEN not in value
        and _CLOSE not in value
    )


def _build(
    template: str, language: str, context: dict[str, Any], values: dict[str, str], render: Render
) -> Skeleton | None:
    names = tuple(values)
    markers = {name: f"{_OPEN}{n}{_CLOSE}" for n, name in enumerate(names)}
    forms = render(template, language, {**context, **markers})
    patterns = [form.replace("{", "{{").replace("}", "}}") for form in forms]
    for n in range(len(names)):
        patterns = [pattern.replace(f"{_OPEN}{n}{_CLOSE}", f"{{{n}}}") for pattern in patterns]
    skeleton = Skeleton(names, *patterns)
    if any(_OPEN in p or _CLOSE in p for p in patterns) or skeleton.fill(values) != render(
        template, language, context
    ):
        log.warning("no skeleton for %s/%s: it renders differently", language, template)
        return None
    return skeleton


def _seen_before(key: tuple[Any, ...]) -> bool:
    if key in _seen:
        return True
    _remember(_seen, key, None)
    return False


def _remember(store: OrderedDict[Any, Any], key: tuple[Any, ...], value: Any) -> None:
    store[key] = value
    if len(store) > _KEPT:
        store.popitem(last=False)  # the oldest: shapes come and go in runs
