#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# A NIPA executor that publishes netdrill's own per-test results.
#
# NIPA's generic exec.py publishes one result row for a whole run, made from the
# exit status. This executor instead hands NIPA the rows netdrill writes into its
# results.json (`netdrill run --json`): one per script with its nested per-IP-version
# rows, retries, kernel crashes and links. It adds nothing to them and changes
# nothing in them; it only runs netdrill-exec.sh for each new branch.
#
# Install: copy this file into a NIPA checkout's contest/remote/ (it imports NIPA's
# `core` and `lib` from there, as exec.py does) with remote.config beside it, then
# run it from there: `./netdrill_executor.py`. It reads the same remote.config as
# exec.py ([executor] name and group, [bin] exec = .../netdrill-exec.sh, [local] and
# [www] paths).
import configparser
import json
import os
import subprocess


def netdrill_rows(binfo, rinfo, config):
    """Run netdrill on the checked-out tree; return its result rows."""
    results_path = config.get('local', 'results_path')
    cookie = rinfo['run-cookie']
    out_dir = os.path.join(config.get('local', 'base_path'), results_path, cookie)
    os.makedirs(out_dir)
    run_link = '/'.join([config.get('www', 'url'), results_path, cookie])
    rinfo['link'] = run_link

    env = dict(os.environ)
    env.update({
        'BRANCH': binfo['branch'],
        'BASE': binfo['base'],
        'RESULTS_DIR': out_dir,
        'NETDRILL_EXECUTOR': config.get('executor', 'name'),
        'NETDRILL_LINK': run_link,
    })
    with open(os.path.join(out_dir, 'stdout'), 'w') as stdout, \
         open(os.path.join(out_dir, 'stderr'), 'w') as stderr:
        subprocess.run(config.get('bin', 'exec').split(), stdout=stdout, stderr=stderr,
                       env=env, cwd=config.get('local', 'tree_path'), check=False)

    try:
        with open(os.path.join(out_dir, 'results.json')) as f:
            return json.load(f)['results']
    except (OSError, ValueError, KeyError):
        # netdrill never got to write its report: the run itself failed.
        return [{'test': 'netdrill', 'group': config.get('executor', 'group'),
                 'result': 'fail', 'link': run_link + '/stderr'}]


def main():
    # NIPA's own modules, from contest/remote/ where this file is installed.
    from core import NipaLifetime
    from lib import Fetcher

    config = configparser.ConfigParser()
    config.read(['remote.config'])
    base = config.get('local', 'base_path')
    life = NipaLifetime(config)
    fetcher = Fetcher(netdrill_rows, config,
                      name=config.get('executor', 'name'),
                      branches_url=config.get('remote', 'branches'),
                      results_path=os.path.join(base, config.get('local', 'json_path')),
                      url_path=config.get('www', 'url') + '/' + config.get('local', 'json_path'),
                      tree_path=config.get('local', 'tree_path'),
                      patches_path=config.get('local', 'patches_path', fallback=None),
                      life=life,
                      first_run=config.get('executor', 'init', fallback='continue'))
    fetcher.run()
    life.exit()


if __name__ == '__main__':
    main()
