#!/usr/bin/env python3
"""Decode TensorBoard event files as JSON, using the real `tensorboard` package.

Used by tests/tensorboard.rs to check what burnlab writes beyond scalars: the
HParams plugin data, text, images and histograms, as TensorBoard itself reads
them.

Usage:
    PY="$(scripts/setup-test-venv | tail -n1)"
    "$PY" tests/py/inspect_events.py LOGDIR

Every directory under LOGDIR (LOGDIR itself included) that directly contains
at least one ``events.out.tfevents.*`` file is a run, loaded with
``tensorboard.backend.event_processing.event_accumulator.EventAccumulator``
keeping every event. One JSON object is printed to stdout:

    {"runs": {"<run dir relative to LOGDIR, '.' for LOGDIR itself>": {
        "event_files": N,
        "scalars":    {"tag": [[step, value], ...]},
        "text":       {"tag": [[step, "the string"], ...]},
        "hparams":    {"tag": {"version": 0, "data": "experiment" |
                               "session_start_info" | "session_end_info",
                               "message": {...}}},
        "images":     {"tag": [{"step", "width", "height", "png_width",
                                "png_height", "mode", "pixels"}, ...]},
        "histograms": {"tag": [{"step", "min", "max", "num", "sum",
                                "sum_squares", "bucket_limit", "bucket"}, ...]},
        "other_tensors": {"tag": [step, ...]}}}}

"text" holds tensor series whose summary metadata names the text plugin,
decoded to strings. "hparams" holds the HParams plugin's metadata content:
parsed with the plugin's own parsers (tensorboard.plugins.hparams.metadata,
which check the version and the oneof), converted with
google.protobuf.json_format.MessageToDict(preserving_proto_field_name=True),
so enums appear by name ("STATUS_SUCCESS") and google.protobuf.Value as plain
JSON values. Images are decoded with Pillow (a tensorboard dependency);
"pixels" is the flat list of channel bytes, row by row.

Non-finite numbers are written as the strings "NaN", "Infinity" and
"-Infinity" so that the output stays strict JSON. Exit status 1 (with a
message on stderr) if LOGDIR holds no event file, 2 on a usage error.
"""

import io
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_events import run_cli, scalar_value as num  # noqa: E402  (shared with the plain reader)


def decode_image(event):
    from PIL import Image

    img = Image.open(io.BytesIO(event.encoded_image_string))
    img.load()
    pixels = []
    for px in img.getdata():
        pixels.extend(px if isinstance(px, tuple) else (px,))
    return {
        "step": event.step,
        "width": event.width,
        "height": event.height,
        "png_width": img.size[0],
        "png_height": img.size[1],
        "mode": img.mode,
        "pixels": pixels,
    }


def decode_histogram(event):
    h = event.histogram_value
    return {
        "step": event.step,
        "min": num(h.min),
        "max": num(h.max),
        "num": num(h.num),
        "sum": num(h.sum),
        "sum_squares": num(h.sum_squares),
        "bucket_limit": [num(x) for x in h.bucket_limit],
        "bucket": [num(x) for x in h.bucket],
    }


def decode_hparams(content):
    from google.protobuf import json_format
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(content)
    which = data.WhichOneof("data")
    parse = {
        "experiment": metadata.parse_experiment_plugin_data,
        "session_start_info": metadata.parse_session_start_info_plugin_data,
        "session_end_info": metadata.parse_session_end_info_plugin_data,
    }[which]
    message = parse(content)
    return {
        "version": data.version,
        "data": which,
        "message": json_format.MessageToDict(
            message, preserving_proto_field_name=True
        ),
    }


def load_run(run_dir):
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    acc = event_accumulator.EventAccumulator(
        run_dir,
        size_guidance={"scalars": 0, "tensors": 0, "images": 0, "histograms": 0},
    )
    acc.Reload()
    tags = acc.Tags()
    text, other = {}, {}
    for tag in sorted(tags.get("tensors", [])):
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        events = acc.Tensors(tag)
        if plugin == "text":
            text[tag] = [
                [
                    e.step,
                    tensor_util.make_ndarray(e.tensor_proto).item().decode("utf-8"),
                ]
                for e in events
            ]
        elif plugin != "hparams":
            other[tag] = [e.step for e in events]
    try:
        hparams_content = acc.PluginTagToContent("hparams")
    except KeyError:
        hparams_content = {}
    return {
        "scalars": {
            tag: [[e.step, num(e.value)] for e in acc.Scalars(tag)]
            for tag in sorted(tags.get("scalars", []))
        },
        "text": text,
        "hparams": {
            tag: decode_hparams(content)
            for tag, content in sorted(hparams_content.items())
        },
        "images": {
            tag: [decode_image(e) for e in acc.Images(tag)]
            for tag in sorted(tags.get("images", []))
        },
        "histograms": {
            tag: [decode_histogram(e) for e in acc.Histograms(tag)]
            for tag in sorted(tags.get("histograms", []))
        },
        "other_tensors": other,
    }


def main(argv):
    return run_cli(argv, __doc__, lambda run_dir, count: {"event_files": count, **load_run(run_dir)})


if __name__ == "__main__":
    sys.exit(main(sys.argv))
