"""Sample landing data shaped like a real agency export (docs/domain.md section 2)."""

from shebao.generate.cli import add_parser
from shebao.generate.core import generate_landing, persons_for_scale

__all__ = ["add_parser", "generate_landing", "persons_for_scale"]
