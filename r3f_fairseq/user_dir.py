"""Where the plugin is installed: the directory for ``--user-dir`` and the hydra YAML.

    fairseq-train DATA --user-dir "$(r3f-fairseq-user-dir)" ...
    fairseq-hydra-train --config-dir "$(r3f-fairseq-user-dir --config-dir)/glue" --config-name rte_r4f ...

Both are absolute paths into the installed package (site-packages after a
regular ``pip install``, the checkout after ``pip install -e``), so the
commands work from any directory. This module imports nothing but ``os`` and
``argparse``; it is also ``python -m r3f_fairseq.user_dir``.
"""

import argparse
import os

#: the directory to pass to ``fairseq-train --user-dir`` (the r3f_fairseq package itself)
USER_DIR = os.path.dirname(os.path.abspath(__file__))
#: fairseq-hydra-train YAML shipped with the package, one sub-directory per experiment family
CONFIG_DIR = os.path.join(USER_DIR, "configs")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="r3f-fairseq-user-dir",
        description="Print the installed plugin directory, for fairseq-train --user-dir \"$(r3f-fairseq-user-dir)\".",
    )
    parser.add_argument("--config-dir", action="store_true",
                        help="print the directory of the shipped fairseq-hydra-train YAML instead "
                             "(its glue/ holds rte_r4f.yaml)")
    args = parser.parse_args(argv)
    print(CONFIG_DIR if args.config_dir else USER_DIR)


if __name__ == "__main__":
    main()
