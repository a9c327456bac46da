"""Rewrites of exported ONNX graphs that keep every value and drop work ONNX Runtime does not drop itself.

``fold_pads_into_convs``: the EfficientNet-Lite trunks pad their stride-2 convolutions asymmetrically
(TensorFlow "SAME": 0 before, 1 after on an even size; ``model.efficientnet_lite.same_padding``), which
torch can only write as a separate zero ``Pad``; the legacy exporter computes that Pad's amounts through a
chain of constant nodes, so ONNX Runtime neither folds nor fuses it, and each Pad copies a whole feature map
(measured on the demo detector: 15 % of its time). An ONNX ``Conv`` takes asymmetric ``pads`` itself, so the
Pad goes into the Conv it feeds.
"""

from __future__ import annotations

import numpy as np


def _constant_value(model, name: str, producers: dict, graph_inputs: set[str]) -> np.ndarray | None:
    """The value of tensor ``name`` when it depends on initializers and Constant nodes only, else None."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    inits = {i.name for i in model.graph.initializer}
    nodes, stack, seen = [], [name], set()
    while stack:
        t = stack.pop()
        if t in seen or t in inits or t == "":
            continue
        seen.add(t)
        if t in graph_inputs or t not in producers:
            return None
        node = producers[t]
        if node.op_type == "Shape":
            return None  # depends on a runtime shape
        nodes.append(node)
        stack.extend(node.input)
    chosen = {id(n) for n in nodes}
    ordered = [n for n in model.graph.node if id(n) in chosen]  # a graph's nodes are in topological order
    used = {i for n in ordered for i in n.input}
    sub = onnx.helper.make_graph(
        ordered, "pads",
        inputs=[], outputs=[onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT64, None)],
        initializer=[i for i in model.graph.initializer if i.name in used],
    )
    sub_model = onnx.helper.make_model(sub, opset_imports=model.opset_import)
    return np.asarray(ReferenceEvaluator(sub_model).run(None, {})[0])


def fold_pads_into_convs(model) -> int:
    """Fold each zero, constant-amount ``Pad`` of the two spatial axes whose only consumer is a 2D ``Conv``
    without padding of its own into that Conv's ``pads`` (in place); returns the number folded."""
    import onnx

    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    graph_inputs = {i.name for i in g.input}
    outputs = {o.name for o in g.output}
    folded = []
    for pad in list(g.node):
        if pad.op_type != "Pad" or len(pad.input) < 2:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in pad.attribute}
        mode = attrs.get("mode", b"constant")
        if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
            continue
        if len(pad.input) > 2 and pad.input[2]:
            value = _constant_value(model, pad.input[2], producers, graph_inputs)
            if value is None or np.any(value != 0):
                continue
        if len(pad.input) > 3 and pad.input[3]:
            continue  # axes given: not the 4D pads layout folded here
        users = consumers.get(pad.output[0], [])
        if len(users) != 1 or users[0].op_type != "Conv" or pad.output[0] in outputs:
            continue
        conv = users[0]
        if conv.input[0] != pad.output[0]:
            continue
        amounts = _constant_value(model, pad.input[1], producers, graph_inputs)
        spatial_only = amounts is not None and amounts.shape == (8,) and not np.any(amounts[[0, 1, 4, 5]])
        if not spatial_only or np.any(amounts < 0):
            continue
        conv_attrs = {a.name: onnx.helper.get_attribute_value(a) for a in conv.attribute}
        if any(conv_attrs.get("pads", [0, 0, 0, 0])) or conv_attrs.get("auto_pad", b"NOTSET") not in (
            b"NOTSET", "NOTSET"
        ):
            continue
        top, left, bottom, right = (int(v) for v in amounts[[2, 3, 6, 7]])
        keep = [a for a in conv.attribute if a.name not in ("pads", "auto_pad")]
        del conv.attribute[:]
        conv.attribute.extend(keep)
        conv.attribute.append(onnx.helper.make_attribute("pads", [top, left, bottom, right]))
        conv.input[0] = pad.input[0]
        folded.append(pad)
    if folded:
        # the amounts' constant chains are left to ONNX Runtime's constant folding
        rest = [n for n in g.node if all(n is not p for p in folded)]
        del g.node[:]
        g.node.extend(rest)
    return len(folded)
