"""The reward-rule API: rules are plain functions over Magenta melody events.

A rule is registered with the decorator (exported as `rl_tuner.reward_rule`):

  @rl_tuner.reward_rule('pentatonic')
  def pentatonic(melodies, *, context):
    ...  # melodies int [B, T] of events; returns float [B, T]

`melodies` holds Magenta melody events (-2 hold / no event, -1 note-off,
0-127 MIDI pitch; column t is beat t, the priming event excluded); entry [b, t]
of the result is the reward of note t given notes 0 .. t-1. `context` is a
`RuleContext`. Rules need not be incremental: the trainer scores whole episodes.

The built-in rules (`rules.REWARD_RULES`) are registered here under their own
names and reach `rules.py` through one adapter (`indices_from_events`), looked
up at call time, so their values are today's and later edits to rules.py flow
through. They are defined on the basic Note RNN's 38 classes, i.e. pitches
48-83: those map onto today's indices exactly; a pitch outside 48-83 makes a
built-in rule raise `ValueError` naming the rule and the pitch (the
detectors' tables are sized for 38 classes). `key_pitch_classes` and
`tonic_pitch_class` hold for every pitch (in key by pitch class; the tonic
rule's tonic is the key's tonic in the octave of MIDI 60-71), and `chord_tone`
(rl_tuner/music/chords.py) works on any pitch.

Weights: `parse_rule_weights('key:1,tonic:0.5')`. Loading a rule module
(`load_rule_module`) runs the user's code: tools do it only for a module named
by a flag (`--reward_rule_module`), never for one named in a run directory.
"""

import dataclasses
import hashlib
import importlib
import importlib.util
import math
import os
import re
import sys
from typing import Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence

import numpy as np

from pipelines import encoding
from pipelines.errors import FlagError
from rl_tuner.music import chords
from rl_tuner.music import keys as keys_lib
from rl_tuner.music import rules

STEPS_PER_BAR = chords.STEPS_PER_BAR  # 16
BUILTIN_MIN_PITCH = encoding.MIN_MIDI_PITCH  # 48
BUILTIN_MAX_PITCH = encoding.MAX_MIDI_PITCH - 1  # 83
_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')

RuleFn = Callable[..., np.ndarray]


@dataclasses.dataclass(frozen=True, eq=False)
class RuleContext:
  """What a rule may know besides the melodies.

  Attributes:
    key_name: canonical key name, e.g. 'C', 'F#', 'A_minor'.
    tonic_pitch_class: 0 (C) ... 11 (B).
    key_pitch_classes: the key's pitch classes.
    num_notes: notes per composition (the episode length the rules assume).
    steps_per_bar: 16 (sixteenth notes in 4/4).
    semantics: 'corrected' or 'legacy' (rl_tuner/README.md).
    priming: int [B] melody event observed before note 0, or None.
    chords: None, or one frozenset of pitch classes per step (len >= T).
    tonic_pitch: the tonic rule's MIDI pitch (60 + tonic_pitch_class).
  """
  key_name: str
  tonic_pitch_class: int
  key_pitch_classes: FrozenSet[int]
  num_notes: int
  steps_per_bar: int = STEPS_PER_BAR
  semantics: str = rules.CORRECTED
  priming: Optional[np.ndarray] = None
  chords: Optional[List[FrozenSet[int]]] = None

  @property
  def tonic_pitch(self) -> int:
    return encoding.C_MAJOR_TONIC_PITCH + self.tonic_pitch_class

  @property
  def key(self) -> keys_lib.Key:
    return keys_lib.parse_key(self.key_name)


def make_context(*, key='C', num_notes: int = rules.DEFAULT_NUM_NOTES,
                 semantics: str = rules.CORRECTED, priming=None,
                 chords: Optional[Sequence[FrozenSet[int]]] = None) -> RuleContext:
  """A RuleContext from a key (name or `Key`) and the episode's settings.

  `priming` is int [B] melody events (or None).
  """
  key = keys_lib.parse_key(key)
  pitch_classes = frozenset((key.tonic_pitch_class + d) % keys_lib.OCTAVE_SEMITONES
                            for d in key.degrees)
  if priming is not None:
    priming = np.asarray(priming, np.int64).reshape(-1)
  return RuleContext(
      key_name=key.name, tonic_pitch_class=key.tonic_pitch_class,
      key_pitch_classes=pitch_classes, num_notes=int(num_notes),
      semantics=rules.mf.check_semantics(semantics), priming=priming,
      chords=None if chords is None else [frozenset(c) for c in chords])


# --- events <-> the 38 classes of the built-in rules ---

def events_from_indices(indices) -> np.ndarray:
  """38-class indices (0 hold, 1 note-off, k >= 2 = MIDI k + 46) -> melody events."""
  return encoding.index_to_event(indices)


def indices_from_events(melodies, rule_name: str = 'built-in') -> np.ndarray:
  """Melody events -> the 38-class indices of the built-in rules (exact for 48-83).

  Raises:
    ValueError: an event that is not -2, -1 or a pitch in 48-83 (names the rule).
  """
  events = np.asarray(melodies, np.int64)
  pitched = events >= 0
  outside = pitched & ((events < BUILTIN_MIN_PITCH) | (events > BUILTIN_MAX_PITCH))
  if np.any(outside):
    raise ValueError(
        'reward rule %r is defined on pitches %d-%d (the basic Note RNN\'s range); got MIDI '
        'pitch %d' % (rule_name, BUILTIN_MIN_PITCH, BUILTIN_MAX_PITCH,
                      int(events[outside][0])))
  try:
    return encoding.event_to_index(events)
  except ValueError as e:
    raise ValueError('reward rule %r: %s' % (rule_name, e)) from None


# --- the registry ---

_REGISTRY: Dict[str, RuleFn] = {}
_BUILTINS: Dict[str, RuleFn] = {}


def reward_rule(name: str) -> Callable[[RuleFn], RuleFn]:
  """Decorator: registers `fn(melodies, *, context) -> float [B, T]` as rule `name`.

  Registering a name again replaces the earlier rule (re-importing a module),
  except a built-in's name, which is an error.
  """
  if not isinstance(name, str) or not _NAME.match(name):
    raise ValueError('a reward rule name is a Python identifier, got %r' % (name,))

  def register(fn: RuleFn) -> RuleFn:
    if not callable(fn):
      raise TypeError('reward_rule(%r) decorates a function, got %r' % (name, fn))
    if name in _BUILTINS and fn is not _BUILTINS[name]:
      raise ValueError('%r is a built-in reward rule; give your rule another name' % name)
    _REGISTRY[name] = fn
    return fn
  return register


def registered_rules() -> Dict[str, RuleFn]:
  """{name: rule} of every registered rule (built-ins first)."""
  return dict(_REGISTRY)


def _builtin(name: str) -> RuleFn:
  def rule(melodies, *, context: RuleContext) -> np.ndarray:
    x = indices_from_events(melodies, name)
    priming = None
    if context.priming is not None:
      priming = indices_from_events(context.priming, name)
    return rules.REWARD_RULES[name](x, key=context.key, semantics=context.semantics,
                                    num_notes=context.num_notes, priming=priming)
  rule.__name__ = 'builtin_%s' % name
  rule.__doc__ = 'Built-in rule %r (rl_tuner.music.rules) on melody events.' % name
  return rule


for _name in rules.REWARD_RULES:
  _BUILTINS[_name] = _builtin(_name)
  reward_rule(_name)(_BUILTINS[_name])
del _name

_BUILTINS['chord_tone'] = chords.chord_tone
reward_rule('chord_tone')(chords.chord_tone)
BUILTIN_RULES = tuple(_BUILTINS)


# --- rule sets ---

def parse_rule_weights(text: str, flag: str = 'reward_rules') -> Dict[str, float]:
  """'key:1,tonic:0.5' -> {'key': 1.0, 'tonic': 0.5} (a bare name weighs 1).

  Names are checked for form only (a rule module may register them later).

  Raises:
    FlagError: a malformed entry, a repeated name or a non-finite weight.
  """
  weights = {}
  for item in [s.strip() for s in str(text).split(',') if s.strip()]:
    name, sep, value = (s.strip() for s in item.partition(':'))
    if not _NAME.match(name):
      raise FlagError(flag, '%r is not name:weight (e.g. key:1,tonic:0.5)' % item)
    try:
      weight = float(value) if sep else 1.0
    except ValueError:
      raise FlagError(flag, '%r: the weight %r is not a number' % (item, value)) from None
    if not math.isfinite(weight):
      raise FlagError(flag, '%r: the weight must be finite' % item)
    if name in weights:
      raise FlagError(flag, 'rule %r is named twice' % name)
    weights[name] = weight
  if not weights:
    raise FlagError(flag, 'names no rule (e.g. key:1,tonic:0.5)')
  return weights


def format_rule_weights(weights: Mapping[str, float]) -> str:
  """{'key': 1.0} -> 'key:1' (the --reward_rules form; inverse of parse_rule_weights)."""
  return ','.join('%s:%s' % (n, repr(float(w)).rstrip('0').rstrip('.')) for n, w in
                  weights.items())


def mode_rule_weights(reward_mode: str) -> Dict[str, float]:
  """The rules of a --reward_mode, each weighing 1 (exactly today's sum)."""
  return {name: 1.0 for name in rules.REWARD_MODE_RULES[reward_mode]}


def check_rules_known(weights: Mapping[str, float], module: Optional[str],
                      flag: str = 'reward_rules') -> None:
  """Raises FlagError naming the first rule nobody registered (and where to define it)."""
  for name in weights:
    if name not in _REGISTRY:
      where = ('--reward_rule_module=%s does not register it' % module if module else
               'define it in a file passed as --reward_rule_module')
      raise FlagError(flag, 'unknown reward rule %r (%s); registered: %s'
                      % (name, where, ', '.join(_REGISTRY)))


def rule_rewards(melodies, weights: Mapping[str, float], context: RuleContext
                 ) -> Dict[str, np.ndarray]:
  """{name: float64 [B, T]} each rule's unweighted reward for every note.

  Raises:
    ValueError: an unregistered rule, or a result that is not float [B, T].
  """
  melodies = np.asarray(melodies, np.int64)
  if melodies.ndim != 2:
    raise ValueError('melodies must be int [B, T], got shape %s' % (melodies.shape,))
  out = {}
  for name in weights:
    if name not in _REGISTRY:
      raise ValueError('unknown reward rule %r; registered: %s' % (name, ', '.join(_REGISTRY)))
    value = np.asarray(_REGISTRY[name](melodies.copy(), context=context), np.float64)
    if value.shape != melodies.shape:
      raise ValueError('reward rule %r returned shape %s for melodies of shape %s'
                       % (name, value.shape, melodies.shape))
    out[name] = value
  return out


def weighted_reward(melodies, weights: Mapping[str, float], context: RuleContext
                    ) -> np.ndarray:
  """float64 [B, T]: Σ weight · rule, in the order of `weights`.

  With every weight 1 and a mode's rules in order this equals
  `rules.music_theory_reward` bit for bit (1.0 * x is x; same order of sums).
  """
  total = None
  for name, part in rule_rewards(melodies, weights, context).items():
    part = part * float(weights[name])
    total = part if total is None else total + part
  return total


def rule_statistics(melodies, weights: Mapping[str, float], context: RuleContext
                    ) -> Dict[str, Dict[str, float]]:
  """{name: {'mean_reward', 'nonzero_share'}} per rule (unweighted, over all notes)."""
  stats = {}
  for name, part in rule_rewards(melodies, weights, context).items():
    stats[name] = {'mean_reward': float(np.mean(part)) if part.size else math.nan,
                   'nonzero_share': float(np.mean(part != 0)) if part.size else math.nan}
  return stats


# --- user rule modules ---

def load_rule_module(spec: str, flag: str = 'reward_rule_module'):
  """Imports a rule module (a .py path or a dotted module name) once; returns it.

  This runs the user's code (its import registers rules with `reward_rule`).

  Raises:
    FlagError: no such file or module, or its import failed (one line).
  """
  spec = str(spec).strip()
  is_path = spec.endswith('.py') or os.sep in spec
  try:
    if not is_path:
      return importlib.import_module(spec)
    path = os.path.abspath(os.path.expanduser(spec))
    if not os.path.isfile(path):
      raise FlagError(flag, 'no such file: %s' % spec)
    name = 'rl_tuner_user_rules_%s' % hashlib.sha1(path.encode()).hexdigest()[:12]
    if name in sys.modules:
      return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
      module_spec.loader.exec_module(module)
    except BaseException:
      del sys.modules[name]
      raise
    return module
  except FlagError:
    raise
  except ModuleNotFoundError as e:
    raise FlagError(flag, 'cannot import %s: %s' % (spec, e)) from None
  except Exception as e:  # pylint: disable=broad-except
    raise FlagError(flag, 'importing %s failed: %s: %s' % (spec, type(e).__name__, e)) from None
