#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validate the example files of openapi.yaml against its schemas.

Redocly validates inline example values only; the replayable examples under
api/examples/ are `externalValue` files, so this script checks them: every
JSON example (file or inline) must match its request or response schema, every
v2 operation must have a request and a response file, every file must be
referenced, and api/examples/order.txt must list each replayable operation
exactly once. Needs python3 with PyYAML and jsonschema (Debian:
python3-yaml python3-jsonschema). Exit status 0 when everything holds.

usage: tools/lint/check_examples.py [REPO_ROOT]
"""
import json
import os
import sys

import jsonschema
import yaml

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), '..', '..'))
_docs = {}


def load(path):
    if path not in _docs:
        with open(path) as f:
            _docs[path] = yaml.safe_load(f)
    return _docs[path]


def pointer(doc, frag):
    node = doc
    for part in frag.lstrip('/').split('/') if frag.strip('/') else []:
        part = part.replace('~1', '/').replace('~0', '~')
        node = node[part]
    return node


def inline(node, base, depth=0):
    """Return node with every $ref replaced by its target (schemas here are not recursive)."""
    if depth > 64:
        raise RuntimeError('reference nesting too deep at ' + base)
    if isinstance(node, list):
        return [inline(x, base, depth) for x in node]
    if not isinstance(node, dict):
        return node
    if '$ref' in node:
        ref = node['$ref']
        file_part, _, frag = ref.partition('#')
        target_file = os.path.normpath(os.path.join(os.path.dirname(base), file_part)) if file_part else base
        target = inline(pointer(load(target_file), frag), target_file, depth + 1)
        rest = {k: inline(v, base, depth) for k, v in node.items() if k != '$ref'}
        return {'allOf': [target], **rest} if rest else target
    return {k: inline(v, base, depth) for k, v in node.items()}


def main():
    spec_path = os.path.join(ROOT, 'openapi.yaml')
    spec = load(spec_path)
    errors = []
    referenced = set()
    v2_ops = []

    def pick(schema, value):
        """For a success-or-error union, the branch whose `code` matches the value's."""
        if 'anyOf' not in schema or not isinstance(value, dict) or 'code' not in value:
            return schema
        for branch in schema['anyOf']:
            code = branch.get('properties', {}).get('code')
            if code is not None and jsonschema.Draft202012Validator(code).is_valid(value['code']):
                return branch
        return schema

    def check(where, schema, examples):
        for name, ex in (examples or {}).items():
            ex = inline(ex, spec_path)
            if 'externalValue' in ex:
                rel = ex['externalValue']
                referenced.add(os.path.normpath(rel))
                path = os.path.join(ROOT, rel)
                if not os.path.exists(path):
                    errors.append(f'{where} {name}: missing file {rel}')
                    continue
                if not rel.endswith('.json'):
                    continue
                with open(path) as f:
                    try:
                        value = json.load(f)
                    except ValueError as e:
                        errors.append(f'{rel}: invalid JSON: {e}')
                        continue
                label = rel
            else:
                value, label = ex.get('value'), f'{where} example {name}'
            validator = jsonschema.Draft202012Validator(pick(schema, value))
            for err in validator.iter_errors(value):
                while err.context:  # anyOf/oneOf: report the most relevant branch error
                    err = jsonschema.exceptions.best_match(err.context)
                loc = '/'.join(str(p) for p in err.absolute_path)
                errors.append(f'{label}: at /{loc}: {err.message[:300]}')

    for path, item in spec['paths'].items():
        for method, op in item.items():
            if method not in ('get', 'post', 'options'):
                continue
            where = f'{method.upper()} {path}'
            if path.startswith('/v2/vectordb/'):
                v2_ops.append(path[len('/v2/vectordb/'):])
            body = op.get('requestBody', {}).get('content', {}).get('application/json')
            if body:
                check(where + ' request', inline(body['schema'], spec_path), body.get('examples'))
            for status, resp in op.get('responses', {}).items():
                resp = inline(resp, spec_path)
                for ctype, media in resp.get('content', {}).items():
                    schema = inline(media.get('schema', {}), spec_path)
                    if 'example' in media:
                        check(f'{where} {status}', schema, {'example': {'value': media['example']}})
                    check(f'{where} {status} {ctype}', schema, media.get('examples'))

    ex_dir = os.path.join(ROOT, 'api', 'examples')
    for op in v2_ops:
        for kind in ('request', 'response'):
            rel = os.path.normpath(f'api/examples/{op}.{kind}.json')
            if rel not in referenced:
                errors.append(f'v2 operation {op}: no {kind} example {rel}')
    for dirpath, _, files in os.walk(ex_dir):
        for fn in files:
            rel = os.path.normpath(os.path.relpath(os.path.join(dirpath, fn), ROOT))
            if fn.endswith(('.json', '.txt')) and fn != 'order.txt' and rel not in referenced:
                errors.append(f'{rel}: not referenced from openapi.yaml')

    with open(os.path.join(ex_dir, 'order.txt')) as f:
        order = [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]
    seen = set()
    for entry in order:
        if entry in seen:
            errors.append(f'order.txt: {entry} listed twice')
        seen.add(entry)
        if not os.path.exists(os.path.join(ex_dir, entry + '.response.json')):
            errors.append(f'order.txt: {entry} has no response example')
        if not entry.startswith('native/') and not os.path.exists(os.path.join(ex_dir, entry + '.request.json')):
            errors.append(f'order.txt: {entry} has no request example')
    for op in v2_ops:
        if op not in seen:
            errors.append(f'order.txt: v2 operation {op} missing')

    for e in errors:
        print(e)
    print(f'{len(v2_ops)} v2 operations, {len(referenced)} example files, '
          f'{len(order)} replay steps: {"OK" if not errors else f"{len(errors)} error(s)"}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
