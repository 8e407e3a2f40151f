// Added for the stagehand stack (see stagehand's templates/README.md): the sign-in page offers
// the providers listed in app.signInProviders, GitHub when the list is not set. Production
// (app-config.production.yaml) lists github; only the local portal overlay lists guest.
import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import {
  configApiRef,
  githubAuthApiRef,
  useApi,
} from '@backstage/core-plugin-api';
import type {
  IdentityProviders,
  SignInProviderConfig,
} from '@backstage/core-components';

const github: SignInProviderConfig = {
  id: 'github-auth-provider',
  title: 'GitHub',
  message: 'Sign in using GitHub',
  apiRef: githubAuthApiRef,
};

const signInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => {
      const { SignInPage } = await import('@backstage/core-components');
      return props => {
        const config = useApi(configApiRef);
        const wanted = config.getOptionalStringArray('app.signInProviders') ?? [
          'github',
        ];
        const providers: IdentityProviders = [];
        for (const name of wanted) {
          if (name === 'guest') providers.push('guest');
          if (name === 'github') providers.push(github);
        }
        return <SignInPage {...props} providers={providers} />;
      };
    },
  },
});

export const signInModule = createFrontendModule({
  pluginId: 'app',
  extensions: [signInPage],
});
