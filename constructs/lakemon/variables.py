"""Stack-level Terraform variables, declared once per stack whoever asks first.

Why a function and not a LakemonStack method: destinations and tables need `var.<name>` in any
TerraformStack, and looking up the enclosing LakemonStack from them made the low-level constructs
depend on the stack that composes them (an import circle). The stack itself is the registry: a
variable is the stack's child named after it.
"""

from __future__ import annotations

from cdktf import TerraformStack, TerraformVariable

from constructs import Construct


def stack_variable(scope: Construct, name: str, *, sensitive: bool, description: str) -> TerraformVariable:
    """Get or declare the string variable `name` of the stack that holds `scope`."""
    stack = TerraformStack.of(scope)
    found = stack.node.try_find_child(name)
    if isinstance(found, TerraformVariable):
        return found
    if found is not None:
        raise ValueError(f"{stack.node.path}: {name!r} is already a {type(found).__name__}, not a variable")
    return TerraformVariable(stack, name, type="string", sensitive=sensitive, description=description)
