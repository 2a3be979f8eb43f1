"""Everything that makes the project run without AWS or Runway: the Runway simulator and the local runner.

Never imported by the deployed functions.
"""
