"""DIET's intent prediction, and the features only DIET reads, made only for the
messages whose intent it can change.

``py-spy`` on two workers under ``bench.scale``'s load: DIET was a fifth of their CPU
(a TensorFlow call a message, half of it in ``tf.function``'s dispatch and conversion
of the inputs). The ``LinearIntentEnsemble`` that follows it blends 0.2 × DIET with
0.8 × the linear regression: when the regression's best intent leads the second by more
than 0.25, no ranking of DIET can change the best intent, nor the fallback's decision
on it (``linear_intent.decided``); that is 96 to 98 % of the held-out sentences.

Here, when a prediction graph has a ``DIETClassifier`` node without entity recognition
whose messages go only to a trained ``LinearIntentEnsemble`` node, the DIET node passes
the messages on unchanged and the ensemble calls DIET for the messages where it
matters. So do the featurizers before DIET whose messages go only, one after the other,
to it (the sparse features of words, characters and word shapes: 9 % of a worker's CPU
more, and no other component reads them): the ensemble runs them first, in their
order. The intent, and the fallback's decision, are those of Rasa's graph; where DIET
was not asked, the ranking is the linear one. ``tests/rasa/test_deferred_diet.py``
compares both on the held-out sentences.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rasa.engine.graph import GraphNode, GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.classifiers.fallback_classifier import (
    AMBIGUITY_THRESHOLD_KEY,
    THRESHOLD_KEY,
    FallbackClassifier,
)
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import ENTITY_RECOGNITION

from rasa_ext.linear_intent import LinearIntentEnsemble

# Rasa's own method, as imported (for the tests' comparison).
_rasa_instantiate_nodes = DaskGraphRunner._instantiate_nodes


def _unchanged(component: Any, messages: list[Message]) -> list[Message]:
    return messages


def fallback_thresholds(nodes: dict[str, GraphNode]) -> tuple[float, float]:
    """The threshold and ambiguity threshold of the graph's fallback classifier (the
    strictest, should there be several), or zeros without one."""
    configs = [
        n._component_config
        for n in nodes.values()
        if issubclass(n._component_class, FallbackClassifier) and n._fn_name == "process"
    ]
    return (
        max((c[THRESHOLD_KEY] for c in configs), default=0.0),
        max((c[AMBIGUITY_THRESHOLD_KEY] for c in configs), default=0.0),
    )


def defer(schema: GraphSchema, nodes: dict[str, GraphNode]) -> list[str]:
    """Hand each DIET node that feeds only a trained ensemble over to it, with the
    featurizers that feed only that DIET; the names of the nodes handed over."""
    uses = Counter(need for node in schema.nodes.values() for need in node.needs.values())
    thresholds = fallback_thresholds(nodes)
    handed: list[str] = []
    for name, node in nodes.items():
        needs = list(schema.nodes[name].needs.values())
        if not (
            issubclass(node._component_class, LinearIntentEnsemble)
            and node._fn_name == "process"
            and len(needs) == 1
            and needs[0] in nodes
            and uses[needs[0]] == 1
        ):
            continue
        source = nodes[needs[0]]
        diet = source._component
        featurizers = featurizers_before(schema, nodes, uses, needs[0])
        if (
            issubclass(source._component_class, DIETClassifier)
            and source._fn_name == "process"
            and diet is not None
            and not source._component_config.get(ENTITY_RECOGNITION)
            and node._component is not None
            and node._component.take_over(
                diet, *thresholds, featurizers=[nodes[f]._component for f in featurizers]
            )
        ):
            for handed_over in (*featurizers, needs[0]):
                nodes[handed_over]._fn = _unchanged
                handed.append(handed_over)
    return handed


def featurizers_before(
    schema: GraphSchema, nodes: dict[str, GraphNode], uses: Counter, name: str
) -> list[str]:
    """The featurizer nodes whose messages go, one after the other, only to node
    ``name``, in the order they run."""
    chain: list[str] = []
    needs = list(schema.nodes[name].needs.values())
    while len(needs) == 1 and needs[0] in nodes and uses[needs[0]] == 1:
        node = nodes[needs[0]]
        if not (
            issubclass(node._component_class, Featurizer)
            and node._fn_name == "process"
            and node._component is not None
        ):
            break
        chain.insert(0, needs[0])
        needs = list(schema.nodes[needs[0]].needs.values())
    return chain


def _instantiate_nodes(
    graph_schema: GraphSchema, model_storage: Any, execution_context: Any, hooks: Any = None
) -> dict[str, GraphNode]:
    nodes = _rasa_instantiate_nodes(graph_schema, model_storage, execution_context, hooks)
    defer(graph_schema, nodes)
    return nodes


def install() -> None:
    DaskGraphRunner._instantiate_nodes = staticmethod(_instantiate_nodes)  # type: ignore[method-assign]
