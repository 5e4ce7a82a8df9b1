"""bench/quality_bar.py: the time-to-quality bar's diversity floor, on hand-made compositions."""

import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'quality_bar', os.path.join(REPO, 'bench', 'quality_bar.py'))
quality_bar = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(quality_bar)

PASSING_RULES = dict(notes_not_in_key=0.0, notes_excessively_repeated=0.0, leaps_resolved=0.9,
                     notes_in_motif=0.75, starts_with_tonic=0.5)


def test_diversity_figures_by_hand():
  loop = [14, 16, 18] * 3  # 9 events: two 8-windows, both different
  other = list(range(2, 11))  # 9 events: two more windows
  figures = quality_bar.diversity_figures([loop, loop, loop, other])
  assert figures == {'top_composition_count': 3, 'distinct_8grams': 4}


def test_one_loop_fails_the_floor_though_every_rule_passes():
  figures = dict(PASSING_RULES, top_composition_count=6, distinct_8grams=40)
  assert quality_bar.failed_criteria(figures, note_rnn_distinct_8grams=100) == [
      'top_composition_count', 'distinct_8grams']
  figures.update(top_composition_count=5, distinct_8grams=50)  # the limits themselves pass
  assert quality_bar.failed_criteria(figures, note_rnn_distinct_8grams=100) == []
  # Without a reference the floor is not judged (the rule bar alone, as before).
  assert quality_bar.failed_criteria(dict(PASSING_RULES)) == []
