"""Load YAML safely while keeping the file position of every key and value."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml  # imported where a YAML file is read: a run served by the pack cache never loads PyYAML

# A pack file is a few kilobytes; a document tree much larger than this is an
# alias bomb ("billion laughs") or a mistake, and is refused before it is built.
MAX_NODES = 200_000


class YamlError(ValueError):
    """A YAML file that cannot be loaded; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in a YAML file."""

    line: int
    column: int


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class Located:
    """A loaded YAML document and the positions of its parts, addressed by key path.

    Pickled (the pack cache) with its source ``text`` instead of its node tree, which is
    composed again on the first :meth:`mark`: the tree was half of the cached pack, and
    unpickling it imported PyYAML on every run.
    """

    def __init__(self, data: Any, root: yaml.Node | None, text: str | None = None) -> None:
        self.data = data
        self._root = root
        self._text = text  # the source, while ``_root`` is still to be composed from it

    def __getstate__(self) -> dict[str, Any]:
        if self._text is None:
            return dict(self.__dict__)
        return {"data": self.data, "_root": None, "_text": self._text}

    def _node(self) -> yaml.Node | None:
        if self._root is None and self._text is not None:
            import yaml

            loader = yaml.SafeLoader(self._text)
            try:
                self._root = loader.get_single_node()
            finally:
                loader.dispose()
        return self._root

    def mark(self, path: tuple[Any, ...] | list[Any], key: bool = False) -> Mark:
        """Position of the value at ``path`` (or of its key when ``key`` is true).

        A path that goes deeper than the document points at the deepest node reached.
        """
        import yaml

        node = self._node()
        if node is None:
            return Mark(1, 1)
        key_node: yaml.Node | None = None
        for part in path:
            found = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        found, key_node = v, k
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                found, key_node = node.value[part], None
            if found is None:
                break
            node = found
        if key and key_node is not None:
            return _mark(key_node)
        return _mark(node)


def _count_nodes(root: yaml.Node) -> int:
    """Count nodes as construction would expand them (aliases counted each time)."""
    import yaml

    total = 0
    stack = [root]
    memo: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        nid = id(node)
        if nid in memo:
            return memo[nid]
        # Iterative post-order to avoid recursion on deep documents.
        order: list[yaml.Node] = []
        todo = [node]
        seen: set[int] = set()
        while todo:
            n = todo.pop()
            if id(n) in seen or id(n) in memo:
                continue
            seen.add(id(n))
            order.append(n)
            if isinstance(n, yaml.MappingNode):
                for k, v in n.value:
                    todo.extend((k, v))
            elif isinstance(n, yaml.SequenceNode):
                todo.extend(n.value)
        for n in reversed(order):
            if isinstance(n, yaml.MappingNode):
                s = 1 + sum(memo.get(id(k), 1) + memo.get(id(v), 1) for k, v in n.value)
            elif isinstance(n, yaml.SequenceNode):
                s = 1 + sum(memo.get(id(c), 1) for c in n.value)
            else:
                s = 1
            memo[id(n)] = min(s, MAX_NODES + 1)
        return memo[nid]

    while stack:
        total += size(stack.pop())
    return total


def load(text: str) -> Located:
    """Parse one YAML document with the safe loader, keeping node positions.

    Raises:
        YamlError: on a syntax error (with its position), a duplicate key, or a
            document that would expand past ``MAX_NODES`` nodes.
    """
    import yaml

    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return Located(None, None)
            _check_duplicates(root)
            _check_surrogates(root)
            if _count_nodes(root) > MAX_NODES:
                raise YamlError(f"document expands to more than {MAX_NODES} nodes (YAML alias bomb?)", *_pos(root))
            data = loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            raise YamlError(f"YAML syntax error: {reason}", mark.line + 1, mark.column + 1) from None
        raise YamlError(f"YAML syntax error: {reason}") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {exc}") from None
    except RecursionError:
        raise YamlError("YAML document nested too deeply") from None
    return Located(data, root, text)


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_SURROGATE = re.compile("[\ud800-\udfff]")


def _walk(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node of the graph once (an alias is one node however often it is used), without recursion."""
    import yaml

    todo = [root]
    seen: set[int] = set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                todo.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)


def _check_surrogates(root: yaml.Node) -> None:
    """A "\\ud800" escape without its pair makes a string no report can encode (issue 7)."""
    import yaml

    bad = [_pos(n) for n in _walk(root) if isinstance(n, yaml.ScalarNode) and _SURROGATE.search(n.value)]
    if bad:
        raise YamlError("an unpaired surrogate escape (\\ud800-\\udfff) in a string: no report could be written "
                        "with it", *min(bad))


def _check_duplicates(root: yaml.Node) -> None:
    """PyYAML keeps the last of two equal keys silently; a policy file must not."""
    import yaml

    for node in _walk(root):
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for k, _v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in keys:
                        raise YamlError(f"duplicate key {k.value!r}", *_pos(k))
                    keys.add(k.value)
