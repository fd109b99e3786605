"""Rasa runs its model graphs (NLU, then the policies twice a turn) through dask's scheduler, which
cost about a sixth of the Rasa server's CPU per turn (py-spy, 2 cores) for graphs of a dozen nodes
called one after the other anyway. This runner calls the same nodes, with the same inputs, in
dependency order, in the calling thread, as dask's synchronous scheduler did. Training keeps dask."""
from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Any, Dict, List, Optional, Text

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


class SequentialGraphRunner(DaskGraphRunner):
    """``DaskGraphRunner`` without dask: same nodes, same results, same errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._orders: Dict[tuple[Text, ...], tuple[Text, ...]] = {}

    def run(self, inputs: Optional[Dict[Text, Any]] = None, targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        order = self._order(tuple(run_targets))
        # What dask would hold under each key: an input as (name, value), a node's result as (name, output).
        results: Dict[Text, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and (value in order or value in results):
                raise GraphRunError(f"Input value '{value}' clashes with a node name. Make sure that none of the "
                                    f"input names passed to the `run` method are the same as node names in the graph schema.")
            results[name] = (name, value)
        try:
            for name in order:
                node = self._graph_schema.nodes[name]
                # A need nothing provides reaches the node as its bare name, as with dask (the node warns).
                results[name] = self._instantiated_nodes[name](*(results.get(need, need) for need in node.needs.values()))
            return dict(results[target] for target in run_targets)
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e

    def _order(self, targets: tuple[Text, ...]) -> tuple[Text, ...]:
        """The nodes ``targets`` need, each after those it needs (computed once per target list)."""
        if targets not in self._orders:
            nodes = self._graph_schema.minimal_graph_schema(list(targets)).nodes
            graph = {name: [need for need in node.needs.values() if need in nodes] for name, node in nodes.items()}
            self._orders[targets] = tuple(TopologicalSorter(graph).static_order())
        return self._orders[targets]


def install() -> None:
    """Make Rasa's message processor load its models with the sequential runner (idempotent)."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
