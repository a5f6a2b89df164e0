import { Router } from 'express';
import { HttpError, quote } from '../errors.js';
import type { PredictionLookup } from '../store/prediction-lookup.js';

/**
 * `GET /v1/predictions/{id}`: a logged decision with its inputs, its answer, the reasons
 * given, and its label if one arrived (for disputes and adverse-action letters).
 */
export function predictionRoutes(lookup: PredictionLookup): Router {
  const router = Router();
  router.get('/v1/predictions/:id', (req, res) => {
    const id = req.params['id']!;
    const found = lookup.get(id);
    if (found === undefined) throw new HttpError(404, 'unknown_prediction', `no logged prediction has the id ${quote(id)}`, 'id');
    res.json(found);
  });
  return router;
}
