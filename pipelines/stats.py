"""Counters as data: names, histogram buckets, the stats JSON and its table.

Beam counters do not reach the driver on every runner (the Dask runner raises
on ``result.metrics()``), so each DoFn also emits ``(name, increment)`` pairs
that the pipeline sums per name and writes beside its output. This module is
the pure part: it turns the summed pairs into the JSON shape of
``magenta_golden/melody_dataset/pipeline_stats.json`` and prints it.

Key conventions in the pair stream:

* a plain name is a counter;
* ``<histogram name>|<bucket label>`` is one bucket of a histogram;
* ``__inputs_total`` / ``__outputs_total`` are the totals Magenta prints as
  "Processed N inputs total. Produced M outputs."
"""

import bisect
import json
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

HISTOGRAM_SEPARATOR = '|'
INPUTS_TOTAL = '__inputs_total'
OUTPUTS_TOTAL = '__outputs_total'


def bucket_labels(boundaries: Sequence[int]) -> List[str]:
  """'[-inf,b0)', '[b0,b1)', ..., '[b_last,inf)' for sorted `boundaries`."""
  edges = ['-inf'] + [str(b) for b in boundaries] + ['inf']
  return ['[%s,%s)' % (lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]


def bucket_label(value: float, boundaries: Sequence[int]) -> str:
  """The label of the bucket [lo, hi) that holds `value`."""
  return bucket_labels(boundaries)[bisect.bisect_right(boundaries, value)]


def histogram_key(name: str, label: str) -> str:
  return name + HISTOGRAM_SEPARATOR + label


def add(counts: Dict[str, int], name: str, n: int = 1) -> None:
  """counts[name] += n (creating it, so a zero still names the counter)."""
  counts[name] = counts.get(name, 0) + n


def merge(pairs: Iterable[Tuple[str, int]]) -> Dict[str, int]:
  """Sums (name, n) pairs per name."""
  out = {}
  for name, n in pairs:
    add(out, name, n)
  return out


def to_stats_json(totals: Mapping[str, int],
                  histogram_boundaries: Mapping[str, Sequence[int]],
                  **header) -> dict:
  """Summed pairs -> {header..., inputs_total, outputs_total, counters, histograms}.

  Args:
    totals: name -> sum, in the key conventions of this module.
    histogram_boundaries: histogram name suffix (e.g. 'melody_lengths_in_bars')
      -> its bucket boundaries; every histogram whose name ends with a suffix
      lists all of its buckets, zeros included, as Magenta's file does.
    **header: leading keys (config, eval_ratio, command_flags, ...).
  """
  counters, histograms = {}, {}
  for key in sorted(totals):
    if key in (INPUTS_TOTAL, OUTPUTS_TOTAL):
      continue
    if HISTOGRAM_SEPARATOR in key:
      name, label = key.split(HISTOGRAM_SEPARATOR, 1)
      if name not in histograms:
        boundaries = next((b for suffix, b in histogram_boundaries.items()
                           if name.endswith(suffix)), None)
        histograms[name] = ({lab: 0 for lab in bucket_labels(boundaries)}
                            if boundaries is not None else {})
      histograms[name][label] = histograms[name].get(label, 0) + totals[key]
    else:
      counters[key] = totals[key]
  out = dict(header)
  out['inputs_total'] = totals.get(INPUTS_TOTAL, 0)
  out['outputs_total'] = totals.get(OUTPUTS_TOTAL, 0)
  out['counters'] = counters
  out['histograms'] = histograms
  return out


def produced_nothing(data: Mapping) -> bool:
  """True when a stats file's run wrote no output (the tools then exit non-zero)."""
  return not data.get('outputs_total')


def write_json(path: str, data: dict) -> None:
  with open(path, 'w') as f:
    json.dump(data, f, indent=1, sort_keys=False)
    f.write('\n')


def format_table(stats: Mapping) -> str:
  """A plain-text table of a stats JSON, in Magenta's log order (by name)."""
  rows = [('inputs_total', stats.get('inputs_total', 0)),
          ('outputs_total', stats.get('outputs_total', 0))]
  rows += sorted(stats.get('counters', {}).items())
  for name, buckets in sorted(stats.get('histograms', {}).items()):
    rows.append((name, ''))
    rows += [('  ' + label, n) for label, n in buckets.items() if n]
  width = max(len(name) for name, _ in rows)
  lines = ['%-*s  %s' % (width, name, value) for name, value in rows]
  rule = '-' * (width + 10)
  return '\n'.join([rule] + lines + [rule])
