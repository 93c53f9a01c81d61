"""glue experiments: see r3f_fairseq/experiments/__init__.py."""
