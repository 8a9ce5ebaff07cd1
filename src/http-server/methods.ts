// 405 Method Not Allowed for an express app: another method on a path that has routes is not
// "no such endpoint" (404) but a wrong method, answered with the methods the path takes.
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';

interface RouteLayer {
  route?: { path: string | RegExp; methods: Record<string, boolean | undefined> };
}

/**
 * Adds, after the app's routes, a handler for every routed path that sets `Allow` and passes
 * `refusal(method, allow)` to the error handler. Call it once every route is registered.
 */
export function refuseOtherMethods(
  app: express.Express,
  refusal: (method: string, allow: string) => Error,
): void {
  const byPath = new Map<string | RegExp, Set<string>>();
  for (const layer of app.router.stack as RouteLayer[]) {
    if (layer.route === undefined) continue;
    const key = layer.route.path;
    const methods = byPath.get(key) ?? new Set<string>();
    for (const [m, on] of Object.entries(layer.route.methods)) {
      if (on !== true || m === '_all') continue;
      methods.add(m.toUpperCase());
      if (m === 'get') methods.add('HEAD');
    }
    byPath.set(key, methods);
  }
  for (const [path, methods] of byPath) {
    const allow = [...methods].join(', ');
    app.all(path, (req: Request, res: Response, next: NextFunction) => {
      res.setHeader('Allow', allow);
      next(refusal(req.method, allow));
    });
  }
}
