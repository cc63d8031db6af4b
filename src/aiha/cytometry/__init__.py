"""Cytometry arm: demo FCS generation, gating with FlowKit, population tables, claims
and figures.

Submodules are imported on demand: ``gating`` and ``flowjo`` import FlowKit, which
takes about two seconds, so modules that only read tables (``claims``,
``samplesheet``, ``aggregate``, ``plan``) never import it.
"""
