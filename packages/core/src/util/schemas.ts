/**
 * Schemas shared by several option sets, so each value is checked one way everywhere.
 * @module
 */
import { z } from 'zod';

/** A TCP port; 0 asks the system for a free one. */
export const portSchema = z.number().int().min(0).max(65535);
