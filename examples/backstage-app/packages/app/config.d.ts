// Added for the stagehand stack: configuration the app's frontend reads.
export interface Config {
  app: {
    /**
     * Sign-in providers the sign-in page offers, in order: 'github' and/or 'guest'.
     * Default: ['github'].
     * @visibility frontend
     */
    signInProviders?: string[];
  };
}
