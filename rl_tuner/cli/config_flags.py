"""absl flags generated from a config dataclass, so a flag's default and help have one source.

Each field becomes a flag of the same name, typed from its annotation (`str`, `int`, `float`,
`bool`, `Optional[...]`, `List[int]`), with the help text and valid values of its
`metadata` (`rl_tuner.config.setting`). Valid values are listed in `--helpfull` and checked by
the config's own validation, so a bad value is one line naming the flag, as every other bad
setting is.
"""

import dataclasses
import typing
from typing import Any, Dict, Iterable

from absl import flags


def _base_type(annotation):
  if typing.get_origin(annotation) is typing.Union:  # Optional[X]
    annotation = [a for a in typing.get_args(annotation) if a is not type(None)][0]
  if typing.get_origin(annotation) in (list, typing.List):
    return list
  return annotation


def help_text(field: dataclasses.Field) -> str:
  text = field.metadata.get('help', '')
  choices = field.metadata.get('choices') or ()
  if choices:
    text += ' One of: %s.' % ', '.join(choices)
  return text


def define_flags(config_class, *, skip: Iterable[str] = (),
                 flag_values: flags.FlagValues = flags.FLAGS) -> None:
  """Defines one flag per field of `config_class` (defaults from the dataclass)."""
  hints = typing.get_type_hints(config_class)
  skip = set(skip)
  for field in dataclasses.fields(config_class):
    if field.name in skip:
      continue
    kind = _base_type(hints[field.name])
    default = field.default
    text = help_text(field)
    if kind is bool:
      flags.DEFINE_boolean(field.name, default, text, flag_values=flag_values)
    elif kind is int:
      flags.DEFINE_integer(field.name, default, text, flag_values=flag_values)
    elif kind is float:
      flags.DEFINE_float(field.name, default, text, flag_values=flag_values)
    elif kind is list:
      flags.DEFINE_list(field.name, default, text, flag_values=flag_values)
    elif kind is str:
      flags.DEFINE_string(field.name, default, text, flag_values=flag_values)
    else:
      raise TypeError('%s.%s: no flag type for %r' % (config_class.__name__, field.name, kind))


def values_from_flags(config_class, flag_values: flags.FlagValues = flags.FLAGS
                      ) -> Dict[str, Any]:
  """{field: flag value} for every field of `config_class` that is a defined flag."""
  return {f.name: flag_values[f.name].value for f in dataclasses.fields(config_class)
          if f.name in flag_values}
