"""Repeat labels that point back into a multi-event primer decode as Magenta decodes them.

lookback_rnn's and attention_rnn's classes 38 / 39 mean "the event 16 / 32 steps back" in the
whole sequence, primer included (note_seq's ``LookbackEventSequenceEncoderDecoder`` and
``KeyMelodyEncoderDecoder.class_index_to_event``, a dependency, are the oracle). The collector
decodes the episodes in its graph from the prior's state, which holds the primer's events;
the rules' rewards read those events.
"""

import note_seq
import numpy as np
import pytest
import tensorflow as tf

import note_rnn
from pipelines import encoding
from rl_tuner.rl import collect
from rl_tuner.rl import environment
from rl_tuner.rl import model_networks

# 20 events (MIDI 48-83): steps 16-19 are the targets of 16-back labels early in an episode.
PRIMER_EVENTS = [60, -2, 62, -2, 64, -1, 65, -2, 67, -2, 69, -2, 71, -2, 72, -1,
                 74, -2, 76, 77]
NOTE_SEQ_DECODERS = {
    'lookback_rnn': lambda: note_seq.LookbackEventSequenceEncoderDecoder(
        note_seq.MelodyOneHotEncoding(48, 84)),
    'attention_rnn': lambda: note_seq.KeyMelodyEncoderDecoder(48, 84),
}


def _tiny(config):
  kwargs = {'attn_length': 4} if config == 'attention_rnn' else {}
  return note_rnn.build([8], seed=3, config=config, **kwargs)


def _note_seq_decode(config, history, classes):
  """note_seq's decoding of ``classes`` [T] appended one by one after ``history`` events."""
  decoder = NOTE_SEQ_DECODERS[config]()
  events = list(history)
  for c in classes:
    events.append(decoder.class_index_to_event(int(c), events))
  return events[len(history):]


def _networks(model, primer_events):
  primers = encoding.event_to_index(np.asarray([primer_events]))
  return model_networks.make_networks(model, primers)


@pytest.mark.parametrize('config', sorted(NOTE_SEQ_DECODERS))
def test_repeat_labels_after_the_primer_by_hand(config):
  model = _tiny(config)
  _, _, prior = _networks(model, PRIMER_EVENTS)
  repeat16, repeat32 = model.num_classes - 2, model.num_classes - 1
  pitch62 = int(model.classes_from_events(np.array([[62]]))[0, 0])
  # After the 20 primer events: 16 back is step 4.. (64, -1, 65, ...); 32 back is before
  # the melody's start until step 32, a hold.
  labels = [repeat16, repeat16, repeat16, repeat32, pitch62, repeat16, repeat16]
  state = prior.primed_state(tf.constant([0]))
  first = prior.first_observations(tf.constant([0]))
  decoded = []
  for c in [int(first[0])] + labels:
    one_hot = tf.one_hot([c], model.num_classes)
    _, state = prior.step(one_hot, state)
    decoded.append(int(prior.newest_event(one_hot, state)[0]))
  assert decoded[0] == PRIMER_EVENTS[-1]
  assert decoded[1:] == [64, -1, 65, -2, 62, -2, 69]  # by hand: steps 4, 5, 6, hold, 62, 9, 10
  assert decoded[1:] == _note_seq_decode(config, PRIMER_EVENTS, labels)


def test_collector_events_see_the_whole_primer():
  """lookback_rnn only: attention_rnn decodes through the same `_append` (its encoder's
  base class; the test above checks both) and tracing its collection graph takes ~15 s."""
  config = 'lookback_rnn'
  model = _tiny(config)
  primer = PRIMER_EVENTS
  _, q_net, prior = _networks(model, primer)
  collector = collect.EpisodeCollector(
      q_net, prior, num_envs=16, num_notes=16, semantics='corrected',
      add_prior_to_scores=False, exploration_mode='egreedy', exploration_period=10**6,
      initial_epsilon=1.0, final_epsilon=1.0, num_primers=1, seed=5)
  episodes = collector.collect_episodes(0)
  notes = episodes.notes
  assert notes.shape == (16, 17) and episodes.events.shape == (16, 17)
  expected = np.array([_note_seq_decode(config, primer[:-1], row) for row in notes])
  np.testing.assert_array_equal(episodes.events, expected)
  # The case the fix is for: repeat labels that reach into the primer past its last event
  # and land on a pitch (decoding from the episode's start alone gives a hold there).
  # Episode step s sits at position 19 + s: 16 back is primer event s + 3 (s < 16), 32 back
  # primer event s - 13 (s >= 13).
  steps = np.arange(1, notes.shape[1])
  into_primer = (notes[:, 1:] == model.num_classes - 2) & (steps < 16)
  into_primer |= (notes[:, 1:] == model.num_classes - 1) & (steps >= 13)
  assert np.any(into_primer & (expected[:, 1:] >= 0))
  alone = model.events_from_classes(notes)
  assert np.any(alone != expected)
  # The rules read the decoded events.
  rewards = collect.collect_rewards(
      notes, episodes.log_probs, key='C', semantics='corrected',
      reward_mode='music_theory_only', reward_scaler=1.0, events=episodes.events)
  rule_notes = encoding.event_to_index(expected)
  want = environment.episode_rewards(
      rule_notes[:, 1:], np.zeros(notes[:, 1:].shape), key='C', semantics='corrected',
      reward_mode='music_theory_only', reward_scaler=1.0, num_notes=16,
      priming=rule_notes[:, 0])
  np.testing.assert_allclose(rewards['music_theory'], want['music_theory'])


def test_basic_collector_has_no_events():
  model = note_rnn.build([8], seed=0)
  _, q_net, prior = _networks(model, PRIMER_EVENTS)
  collector = collect.EpisodeCollector(
      q_net, prior, num_envs=4, num_notes=8, semantics='corrected',
      add_prior_to_scores=False, exploration_mode='egreedy', exploration_period=10,
      initial_epsilon=1.0, final_epsilon=0.1, num_primers=1, seed=1)
  episodes = collector.collect_episodes(0)
  assert episodes.events is None
  assert len(collector.collect(0)) == 3  # (notes, log_probs, rows), as before
