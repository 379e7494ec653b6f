// The line ranges Stryker mutates in a file, found by name instead of written by hand: line
// numbers drift whenever the file is edited, names do not. stryker.config.mjs uses it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The name a declaration is known by: a function, a `const`, a method or an object property. */
function nameOf(node) {
  if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isPropertyAssignment(node)) {
    return node.name && ts.isIdentifier(node.name) ? node.name.text : undefined;
  }
  if (ts.isVariableStatement(node) && node.declarationList.declarations.length === 1) {
    const [declaration] = node.declarationList.declarations;
    return ts.isIdentifier(declaration.name) ? declaration.name.text : undefined;
  }
  return undefined;
}

/**
 * `file:first-last` for every declaration of `file` named in `names` (every one of that name:
 * each rule's `check`), from its first line to its last, without the comment above it. A name
 * that is not found throws, so that a rename cannot shrink what is mutated without notice.
 *
 * @example
 * mutationRanges("src/api/run.ts", ["resolvePlanCache"]); // ["src/api/run.ts:147-165"]
 */
export function mutationRanges(file, names) {
  const source = ts.createSourceFile(file, readFileSync(`${root}/${file}`, "utf8"), ts.ScriptTarget.Latest, true);
  const line = (position) => source.getLineAndCharacterOfPosition(position).line + 1;
  const ranges = [];
  const found = new Set();
  const visit = (node) => {
    const name = nameOf(node);
    if (name !== undefined && names.includes(name)) {
      found.add(name);
      ranges.push(`${file}:${line(node.getStart(source))}-${line(node.getEnd())}`);
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  const missing = names.filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new Error(`stryker.config.mjs: ${file} has no ${missing.join(", ")}: update the names to mutate`);
  }
  return ranges;
}
