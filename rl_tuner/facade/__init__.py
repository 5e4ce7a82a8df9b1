"""`rl_tuner.RLTuner`: Magenta's RL Tuner class, as a thin facade over this project.

A script or notebook written for `magenta.models.rl_tuner.rl_tuner.RLTuner`
runs with only its import line changed:

  from rl_tuner import RLTuner, default_dqn_hparams

  rlt = RLTuner('/tmp/rlt', dqn_hparams=default_dqn_hparams(), algorithm='q',
                reward_scaler=1.0, num_notes_in_melody=32)
  rlt.train(num_steps=10000, exploration_period=5000)
  rlt.generate_music_sequence(title='rltuner_sample')
  stats = rlt.evaluate_music_theory_metrics(num_compositions=100)
  rlt.save_model('my_model')

Every constructor keyword and main method of Magenta's class is kept. Nothing
is implemented twice: the constructor builds one `RLTunerConfig` (the settings
`bin/train_rl_tuner` takes as flags), `train` calls `rl_tuner.rl.trainer.train_eval`
on it with `output_dir` as the run dir (so a second `train` call resumes and
adds `num_steps` more steps), generation and evaluation use the run's sampling policy
(rebuilt by `rl_tuner.policy.step_models.load_policy`) with `rl_tuner.evaluate.sampling` and
`rl_tuner.music.statistics`, and checkpoints are the run dir's own.

Any melody_rnn Note RNN (basic_rnn, lookback_rnn, attention_rnn, mono_rnn) is tuned this
way: `input_size` and `num_actions` come from the loaded model, and the values Magenta
defines as 38-class encodings are in the model's own classes for the other configs
(rl_tuner/README.md, "The `RLTuner` facade with other configs").

Where the facade deliberately differs from Magenta (each is also in
README.md):
- Without `note_rnn_checkpoint_dir`/`_file` the shipped Note RNN is used
  (Magenta downloads one over HTTP).
- The exploration schedule counts environment steps over the whole run, so a
  second `train` call does not restart it; evaluation never advances it (bug 15).
- `stochastic_observations=True` samples the played note from softmax(scores)
  and stores the note played (Magenta stores the argmax, bug 8): that is
  Boltzmann exploration, which this maps to.
- `summary_writer` is accepted but TensorBoard events always go to
  `<output_dir>/tb` (the run dir layout); a writer object is not written to.
- `semantics` ('corrected' by default, 'legacy' for the original's rewards and
  statistics), `key` and `num_parallel_envs` (compositions collected together;
  `train` rounds `num_steps` up to whole rounds of them) are ours, and so are
  `reward_rules` ({rule: weight}, replacing `reward_mode`'s rules; log p is added
  for q and psi), `reward_rule_module` (a .py path or dotted module registering
  rules with `@rl_tuner.reward_rule`) and `chord_progression` ('C G Am F').
"""


from rl_tuner.facade.hparams import DqnHParams
from rl_tuner.facade.hparams import default_dqn_hparams
from rl_tuner.facade.tuner import C_MAJOR_TONIC
from rl_tuner.facade.tuner import RLTuner

__all__ = ['C_MAJOR_TONIC', 'DqnHParams', 'RLTuner', 'default_dqn_hparams']
