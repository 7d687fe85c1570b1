"""Rasa's prediction graphs run node after node, without building a dask graph each time.

``DaskGraphRunner.run`` is called three times a message at least (the NLU graph, then the
policies for each predicted action). Each call computes the minimal schema of its
targets, builds a dask graph of it and hands it to ``dask.get``, which orders the tasks
and runs them one by one in this thread (the synchronous scheduler): ``py-spy`` on two
workers under ``bench.scale``'s load put 7.5 % of their CPU in dask's scheduling, outside
the nodes themselves. It also formats every input (the tracker, the messages) into a
debug line that is dropped unless debug logging is on.

Here the order of each set of targets is computed once, and the nodes are called in that
order with what dask would give them: each need's result, the ``(name, value)`` pair of
an input, the need's name itself when it is neither (dask's literal). The result is the
same dictionary of ``(name, value)`` pairs; an input named like a node is refused with
Rasa's ``GraphRunError``, and a ``RuntimeError`` inside a node becomes one, as in
Rasa's. ``tests/rasa/test_sequential_runner.py`` compares both runners on the model's
graphs.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner

log = logging.getLogger(__name__)

# Rasa's own method, as imported (for the tests' comparison).
_rasa_run = DaskGraphRunner.run
_ORDERS = "_sequential_orders"


def execution_order(schema: GraphSchema, targets: list[str]) -> list[str]:
    """The nodes ``targets`` need, each after the nodes it needs (depth first)."""
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in schema.nodes:
            return
        placed.add(name)
        for need in schema.nodes[name].needs.values():
            place(need)
        order.append(name)

    for target in targets:
        place(target)
    return order


def _order_for(runner: DaskGraphRunner, targets: list[str]) -> list[str]:
    orders: dict[tuple[str, ...], list[str]] = runner.__dict__.setdefault(_ORDERS, {})
    key = tuple(targets)
    if key not in orders:
        minimal = runner._graph_schema.minimal_graph_schema(targets)
        orders[key] = execution_order(minimal, targets)
    return orders[key]


def _run(
    self: DaskGraphRunner,
    inputs: dict[str, Any] | None = None,
    targets: list[str] | None = None,
) -> dict[str, Any]:
    run_targets = targets if targets else self._graph_schema.target_names
    order = _order_for(self, run_targets)
    results: dict[str, Any] = dict.fromkeys(order)
    self._add_inputs_to_graph(inputs, results)  # Rasa's check: no input named like a node
    if log.isEnabledFor(logging.DEBUG):
        log.debug("Running graph with inputs: %s, targets: %s", inputs, targets)
    given = set(inputs or ())
    nodes = self._instantiated_nodes
    try:
        for name in order:
            if name in given:  # dask: the input replaces the node
                continue
            needs = self._graph_schema.nodes[name].needs.values()
            results[name] = nodes[name](*(results[n] if n in results else n for n in needs))
        return dict(results[t] if t in results else t for t in run_targets)
    except RuntimeError as err:
        raise GraphRunError("Error running runner.") from err


def install() -> None:
    DaskGraphRunner.run = _run  # type: ignore[method-assign]
