"""The demo reads the training flagfiles exactly as bin/train_rl_tuner would."""

import glob
import os

import pytest

from rl_tuner import config as config_lib
from rl_tuner import demo


def _rl_tuner_flagfiles():
  """configs/*.cfg of bin/train_rl_tuner (the Note RNN's own flagfiles are not)."""
  paths = sorted(glob.glob(os.path.join(demo.REPO_DIR, 'configs', '*.cfg')))
  return [p for p in paths if '--algorithm=' in open(p).read()]


@pytest.mark.parametrize('path', _rl_tuner_flagfiles())
def test_every_rl_tuner_flagfile_reads_into_a_valid_config(path):
  config = demo.config_from_flagfile(path, output_dir='/tmp/x')
  config_lib.check(config)
  assert config.algorithm in config_lib.ALGORITHMS


def test_flag_types_negation_and_overrides(tmp_path):
  path = tmp_path / 'a.cfg'
  path.write_text('# comment\n--algorithm=psi\n--reward_scaler=0.1\n--noxla\n--num_steps=7\n'
                  '--primer_melody=[60, -2, 62]\n--reward_mode=music_theory_all\n')
  config = demo.config_from_flagfile(str(path), num_steps=99, output_dir='o')
  assert config.algorithm == 'psi' and config.reward_scaler == 0.1
  assert config.xla is False and config.num_steps == 99
  assert config.primer_melody == [60, -2, 62]


def test_unknown_flag_names_file_and_line(tmp_path):
  path = tmp_path / 'b.cfg'
  path.write_text('--algorithm=q\n--warp_speed=9\n')
  with pytest.raises(demo.DemoError, match=r'b.cfg:2: --warp_speed'):
    demo.config_from_flagfile(str(path))


def test_demo_config_prefers_q_fast(tmp_path):
  (tmp_path / 'q.cfg').write_text('--algorithm=q\n')
  assert demo.find_config(str(tmp_path)).endswith('q.cfg')
  (tmp_path / 'q_fast.cfg').write_text('--algorithm=q\n')
  assert demo.find_config(str(tmp_path)).endswith('q_fast.cfg')


def test_nested_flagfile_comments_and_bad_values(tmp_path):
  (tmp_path / 'base.cfg').write_text('--algorithm=g\n--num_steps=5\n')
  (tmp_path / 'top.cfg').write_text('// absl comment\n--flagfile=base.cfg\n--num_steps=6\n')
  config = config_lib.from_flagfile(str(tmp_path / 'top.cfg'))
  assert config.algorithm == 'g' and config.num_steps == 6
  (tmp_path / 'bad.cfg').write_text('--algorithm=q\n--xla=maybe\n')
  with pytest.raises(config_lib.FlagfileError, match=r'bad.cfg:2: .*not a bool'):
    config_lib.from_flagfile(str(tmp_path / 'bad.cfg'))
  (tmp_path / 'bad2.cfg').write_text('--num_steps=many\n')
  with pytest.raises(config_lib.FlagfileError, match=r'bad2.cfg:1: .*not int'):
    config_lib.from_flagfile(str(tmp_path / 'bad2.cfg'))
