"""rl_tuner.RLTuner over lookback_rnn and attention_rnn Note RNNs (issue 14).

Tiny random models (one layer of 8 units; attention window 4): the facade takes its sizes
from the loaded model, composes in the model's classes, writes MIDI from the decoded events,
counts the statistics on those events, trains a few steps, saves and restores.
"""

import os

import numpy as np
import pytest

import note_rnn
import rl_tuner
from pipelines import encoding
from rl_tuner.evaluate import sampling
from rl_tuner.policy import encodings

SIZES = {'lookback_rnn': (121, 40), 'attention_rnn': (74, 40)}


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory):
  root = tmp_path_factory.mktemp('models')
  return {
      config: note_rnn.build([8], seed=2, config=config,
                             **({'attn_length': 4} if config == 'attention_rnn' else {})
                             ).save(str(root / config))
      for config in SIZES}


def _tuner(model_dir, output_dir, **kwargs):
  return rl_tuner.RLTuner(str(output_dir), note_rnn_checkpoint_dir=model_dir,
                          num_notes_in_melody=8, num_parallel_envs=4, output_every_nth=16,
                          **kwargs)


@pytest.mark.parametrize('config', sorted(SIZES))
def test_sizes_come_from_the_model(config, tiny_models, tmp_path):
  rlt = _tuner(tiny_models[config], tmp_path)
  assert (rlt.input_size, rlt.num_actions) == SIZES[config]
  one_hot = rlt.prime_internal_models()
  assert one_hot.shape == (40,) and one_hot.sum() == 1
  # The priming pitch (MIDI 48-83) in the model's own classes, never a repeat label.
  event = encodings.events(rlt._prior, np.argmax(one_hot)[None, None])[0, 0]
  assert 48 <= event < 84
  assert _tuner(tiny_models[config], tmp_path, input_size=SIZES[config][0],
                num_actions=40, note_rnn_type=config).num_actions == 40
  with pytest.raises(ValueError, match='num_actions=38'):
    _tuner(tiny_models[config], tmp_path, num_actions=38)
  with pytest.raises(ValueError, match='note_rnn_type'):
    _tuner(tiny_models[config], tmp_path, note_rnn_type='mono_rnn')
  with pytest.raises(ValueError, match='input_size=39'):
    _tuner(tiny_models[config], tmp_path, input_size=39, initialize_immediately=False)


@pytest.mark.parametrize('config', sorted(SIZES))
def test_generate_and_evaluate_read_the_decoded_events(config, tiny_models, tmp_path):
  np.random.seed(4)
  rlt = _tuner(tiny_models[config], tmp_path)
  notes = rlt.generate_music_sequence(title='sample', visualize_probs=True,
                                      prob_image_name='probs.png')
  assert len(notes) == 8 and all(0 <= n < 40 for n in notes)
  events = encodings.composition_events(rlt._prior, np.array([0]), np.array([notes]))
  assert len(rlt.composition_events) == 8
  assert all(e == -2 or e == -1 or 48 <= e < 84 for e in rlt.composition_events)
  # The stored events are the notes decoded after the priming note (the first 8 notes
  # cannot reach back 16 steps, so repeat labels are holds whatever the priming note).
  np.testing.assert_array_equal(rlt.composition_events, events[0])
  for name in ('sample.mid', 'probs.png'):
    assert os.path.isfile(os.path.join(str(tmp_path), name))
  # Counted on the decoded events (in the rules' 38 classes), not on the model's classes.
  np.random.seed(9)
  stats = rlt.evaluate_music_theory_metrics(num_compositions=20)
  assert stats['num_compositions'] == 20 and stats['total_notes'] == 160
  np.random.seed(9)
  seed = int(np.random.randint(2**31))
  priming, sampled = sampling.generate_compositions(
      rlt._policy, 20, num_notes=8, policy='sample', seed=seed, semantics='corrected')
  rule_notes = encodings.events_to_rule_classes(
      encodings.composition_events(rlt._policy, priming, sampled))
  notes_in_key = np.isin(encoding.index_to_event(rule_notes) % 12, [0, 2, 4, 5, 7, 9, 11])
  pitched = rule_notes >= 2
  assert stats['notes_not_in_key'] == int(np.sum(pitched & ~notes_in_key))


@pytest.mark.slow
@pytest.mark.parametrize('config', sorted(SIZES))
def test_train_save_restore(config, tiny_models, tmp_path):
  rlt = _tuner(tiny_models[config], tmp_path / 'rlt')
  rlt.train(num_steps=32, exploration_period=32)
  assert rlt.env_steps >= 32
  assert len(rlt.generate_music_sequence(title='tuned')) == 8
  assert rlt.evaluate_music_theory_metrics(num_compositions=5)['total_notes'] == 40
  saved = rlt.save_model('m', directory=str(tmp_path / 'saved'))
  restored = _tuner(tiny_models[config], tmp_path / 'other')
  restored.restore_from_directory(str(tmp_path / 'saved'))
  assert restored._policy.config_name == config
  primes = np.arange(2, 8)
  np.testing.assert_array_equal(
      sampling.generate_from_prefixes(rlt._policy, primes, policy='greedy'),
      sampling.generate_from_prefixes(restored._policy, primes, policy='greedy'))
  assert os.path.basename(saved) == 'm-%d' % rlt.env_steps
