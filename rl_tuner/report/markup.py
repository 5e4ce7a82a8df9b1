"""HTML pieces shared by report.html and ab.html: escaping, data URIs, players, pages.

Every string that comes from an input file goes through ``esc`` where it is written.
"""

import base64
import dataclasses
import html
import os
from typing import Any, Optional

import numpy as np
from pipelines import files

CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;
color:#222}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3} td.paper,th.paper{color:#666;background:#fafafa}
td.better{color:#555;text-align:left;font-style:italic;white-space:nowrap}
img{max-width:100%;border:1px solid #eee}
.sample{display:inline-block;margin:0.3em 1em 0.6em 0;vertical-align:top}
.note{color:#666;font-size:0.9em} code{background:#f4f4f4;padding:0 3px}
.pair{border:1px solid #ddd;border-radius:6px;padding:0.6em 1em;margin:0.8em 0}
.pair button{margin:0.3em 0.6em 0.3em 0;padding:0.3em 1.2em}
.chosen{background:#cfe8cf}
"""


@dataclasses.dataclass
class Sample:
  """One sample composition on a page: its notes and the files made from them."""
  model: str
  index: int
  notes: np.ndarray
  midi_file: str
  wav_file: Optional[str]


def esc(value: Any) -> str:
  """Any value as HTML text or attribute value (quotes escaped too)."""
  return html.escape(str(value), quote=True)


def data_uri(path: str, mime: str) -> str:
  with open(path, 'rb') as f:
    return 'data:%s;base64,%s' % (mime, base64.b64encode(f.read()).decode('ascii'))


def audio_tag(sample: Sample) -> str:
  if sample.wav_file:
    return '<audio controls preload="metadata" src="%s"></audio>' % data_uri(
        sample.wav_file, 'audio/wav')
  return ''


def midi_link(path: str, label: str, download_name: Optional[str] = None) -> str:
  """The file embedded; it downloads as `download_name` (default: its own name)."""
  return '<a download="%s" href="%s">%s</a>' % (
      esc(download_name or os.path.basename(path)), data_uri(path, 'audio/midi'), esc(label))


def write_page(path: str, title: str, body: str, script: str = '') -> None:
  page = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
          '<meta name="viewport" content="width=device-width, initial-scale=1">'
          '<title>%s</title><style>%s</style></head><body>\n%s\n%s</body></html>\n'
          % (esc(title), CSS, body, ('<script>%s</script>' % script) if script else ''))
  files.write_text_atomic(path, page)
